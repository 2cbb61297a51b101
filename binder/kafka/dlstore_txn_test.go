package kafka_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// writeTxnDeadLetters writes topic (two partitions, created here) with two
// transactional producers, as Java services whose DLQ sends are in their
// transactions do: committed dead letters interleaved with aborted
// transactions and the markers of both. It returns the committed payloads
// and each partition's end offset.
//
//	p0: d1 C_A x1 d3 C_A A_B x4 A_A d5 C_A  (end 10)
//	p1: d2 C_A x2 A_B d4 C_B x3 A_A         (end 8: an aborted tail)
func writeTxnDeadLetters(t *testing.T, c *kafkatest.Cluster, topic string) (committed []string, ends map[int]int64) {
	t.Helper()
	if err := c.Kfake.CreateTopic(topic, 2, nil); err != nil {
		t.Fatal(err)
	}
	client := func(id string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID(id+"-"+topic),
			kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	a, b := client("a"), client("b")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	begin := func(cl *kgo.Client) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
	}
	send := func(cl *kgo.Client, part int32, v string) {
		t.Helper()
		r := &kgo.Record{Partition: part, Key: []byte("k" + v), Value: []byte(v),
			Headers: []kgo.RecordHeader{{Key: "x-exception-message", Value: []byte("boom " + v)}}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	end := func(cl *kgo.Client, how kgo.TransactionEndTry) {
		t.Helper()
		if err := cl.EndTransaction(ctx, how); err != nil {
			t.Fatal(err)
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

// readDeadLetters opens a cursor of spec's dead letters and reads them
// all; remove, when set, says which to remove as they are read.
func readDeadLetters(t *testing.T, b stream.Binder, spec stream.ConsumerSpec, o stream.DeadLetterOpen, remove func(stream.DeadLetter) bool) (got []string, elsewhere int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, o)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	for {
		d, err := dl.Next(ctx)
		if errors.Is(err, io.EOF) {
			return got, dl.HeldElsewhere()
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Envelope.Payload) == 6 {
			t.Errorf("dead letter %s: a 6-byte payload %q (a transaction marker)", d.ID, d.Envelope.Payload)
		}
		got = append(got, string(d.Envelope.Payload))
		if remove != nil && remove(d) {
			if err := dl.Remove(ctx, d); err != nil {
				t.Fatal(err)
			}
		} else if err := dl.Release(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeadLettersTransactionalTopic: the dead-letter store of a DLQ topic
// written in transactions lists exactly the committed dead letters —
// never a transaction marker (which kafka-go's Reader handed out as a
// 6-byte record), never a record of an aborted transaction — and removing
// them moves the group's committed offset over the markers and aborted
// records between and after them, to the end of each partition: a
// second run lists nothing.
func TestDeadLettersTransactionalTopic(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
	dlq := stream.ErrorDestinationSource(spec, "").Destination
	want, ends := writeTxnDeadLetters(t, c, dlq)

	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(sorted(got), want) {
		t.Fatalf("listed %q; want the committed dead letters %q", got, want)
	}

	// d3, behind the kept d1: listed in the commit's metadata.
	got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, func(d stream.DeadLetter) bool { return string(d.Envelope.Payload) == "d3" })
	if !slices.Equal(sorted(got), want) {
		t.Fatalf("second listing %q; want %q", got, want)
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(sorted(got), []string{"d1", "d2", "d4", "d5"}) {
		t.Fatalf("after removing d3, listed %q; want d1 d2 d4 d5", got)
	}

	// A replay's claiming cursor removes the rest.
	got, elsewhere := readDeadLetters(t, b, spec, stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second}, func(stream.DeadLetter) bool { return true })
	if !slices.Equal(sorted(got), []string{"d1", "d2", "d4", "d5"}) || elsewhere != 0 {
		t.Fatalf("replayed %q (%d held elsewhere); want d1 d2 d4 d5", got, elsewhere)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := pipeClient(c).OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: kafka.DefaultDeadLetterGroup, Topics: map[string][]int{dlq: {0, 1}}})
	if err != nil || res.Error != nil {
		t.Fatalf("offset fetch: %v %v", err, res.Error)
	}
	for _, p := range res.Topics[dlq] {
		if p.Error != nil || p.CommittedOffset != ends[p.Partition] || p.Metadata != "" {
			t.Errorf("partition %d: committed %d %q (%v); want %d, the end, with nothing listed", p.Partition, p.CommittedOffset, p.Metadata, p.Error, ends[p.Partition])
		}
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); len(got) != 0 {
		t.Errorf("after the replay, listed %q; want none", got)
	}
}
