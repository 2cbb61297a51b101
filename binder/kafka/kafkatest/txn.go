package kafkatest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TxnDeadLetters creates topic with two partitions and writes it with two
// transactional producers, rounds times over, as Java services whose DLQ sends are in their
// transactions (spring.cloud.stream.kafka.binder.transaction.transaction-id-prefix)
// write a dead-letter topic: committed records interleaved with aborted
// transactions, and the markers of both (C commit, A abort; _a, _b the
// producer):
//
//	p0: d1 C_a x1 d3 C_a A_b x4 A_a d5 C_a  (10 offsets; b's x1 open across a's d3)
//	p1: d2 C_a x2 A_b d4 C_b x3 A_a         (8 offsets: an aborted tail)
//
// Each record's value is value(name) (the names d1.R..d5.R, x1.R..x4.R of
// round R, from 0), its key "k"+name, with an x-exception-message header
// "boom "+name. It returns the names of the committed records, sorted,
// and each partition's end offset.
func (c *Cluster) TxnDeadLetters(tb testing.TB, topic string, rounds int, value func(name string) []byte) (committed []string, ends map[int]int64) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	for r := range rounds {
		n := func(base string) string { return fmt.Sprintf("%s.%d", base, r) }
		begin(a)
		send(a, 0, n("d1"))
		send(a, 1, n("d2"))
		end(a, kgo.TryCommit)
		begin(b) // open across a's next transaction
		send(b, 0, n("x1"))
		send(b, 1, n("x2"))
		begin(a)
		send(a, 0, n("d3"))
		end(a, kgo.TryCommit)
		end(b, kgo.TryAbort)
		begin(b)
		send(b, 1, n("d4"))
		end(b, kgo.TryCommit)
		begin(a)
		send(a, 1, n("x3"))
		send(a, 0, n("x4"))
		end(a, kgo.TryAbort)
		begin(a)
		send(a, 0, n("d5"))
		end(a, kgo.TryCommit)
		for _, d := range []string{"d1", "d2", "d3", "d4", "d5"} {
			committed = append(committed, n(d))
		}
	}
	slices.Sort(committed)
	return committed, map[int]int64{0: 10 * int64(rounds), 1: 8 * int64(rounds)}
}
