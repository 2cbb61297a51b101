package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TxnDeadLetters creates topic with two partitions and writes it with two
// transactional producers, as Java services whose DLQ sends are in their
// transactions (spring.cloud.stream.kafka.binder.transaction.transaction-id-prefix)
// write a dead-letter topic: committed records interleaved with aborted
// transactions, and the markers of both (C commit, A abort; _a, _b the
// producer):
//
//	p0: d1 C_a x1 d3 C_a A_b x4 A_a d5 C_a  (end 10; b's x1 open across a's d3)
//	p1: d2 C_a x2 A_b d4 C_b x3 A_a         (end 8: an aborted tail)
//
// Each record's value is value(name) (the names d1..d5, x1..x4), its key
// "k"+name, with an x-exception-message header "boom "+name. It returns
// the names of the committed records, in name order, and each
// partition's end offset.
func (c *Cluster) TxnDeadLetters(tb testing.TB, topic string, value func(name string) []byte) (committed []string, ends map[int]int64) {
	tb.Helper()
	if err := c.Kfake.CreateTopic(topic, 2, nil); err != nil {
		tb.Fatal(err)
	}
	client := func(id string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID(id+"-"+topic),
			kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(cl.Close)
		return cl
	}
	a, b := client("a"), client("b")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	begin := func(cl *kgo.Client) {
		tb.Helper()
		if err := cl.BeginTransaction(); err != nil {
			tb.Fatal(err)
		}
	}
	send := func(cl *kgo.Client, part int32, name string) {
		tb.Helper()
		r := &kgo.Record{Partition: part, Key: []byte("k" + name), Value: value(name),
			Headers: []kgo.RecordHeader{{Key: "x-exception-message", Value: []byte("boom " + name)}}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			tb.Fatal(err)
		}
	}
	end := func(cl *kgo.Client, how kgo.TransactionEndTry) {
		tb.Helper()
		if err := cl.EndTransaction(ctx, how); err != nil {
			tb.Fatal(err)
		}
	}
	begin(a)
	send(a, 0, "d1")
	send(a, 1, "d2")
	end(a, kgo.TryCommit)
	begin(b) // open across a's next transaction
	send(b, 0, "x1")
	send(b, 1, "x2")
	begin(a)
	send(a, 0, "d3")
	end(a, kgo.TryCommit)
	end(b, kgo.TryAbort)
	begin(b)
	send(b, 1, "d4")
	end(b, kgo.TryCommit)
	begin(a)
	send(a, 1, "x3")
	send(a, 0, "x4")
	end(a, kgo.TryAbort)
	begin(a)
	send(a, 0, "d5")
	end(a, kgo.TryCommit)
	return []string{"d1", "d2", "d3", "d4", "d5"}, map[int]int64{0: 10, 1: 8}
}
