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
	"github.com/streambind/streambind/stream"
)

// readDeadLetters opens a cursor of spec's dead letters and reads them
// all; remove, when set, says which to remove as they are read.
func readDeadLetters(t *testing.T, b stream.Binder, spec stream.ConsumerSpec, o stream.DeadLetterOpen, remove func(stream.DeadLetter) bool) (got []string, elsewhere int) {
	t.Helper()
	// A bound on a hang, not a speed check: a cursor removing 1,200 dead
	// letters one commit each took over 30s beside the package's other
	// tests on a loaded CI machine (9s alone).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	c, b, spec, dlq := deadLetterSetup(t)
	want, ends := c.TxnDeadLetters(t, dlq, 1, func(name string) []byte { return []byte(name) })

	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(sorted(got), want) {
		t.Fatalf("listed %q; want the committed dead letters %q", got, want)
	}

	// d3.0, behind the kept d1.0: listed in the commit's metadata.
	got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, func(d stream.DeadLetter) bool { return string(d.Envelope.Payload) == "d3.0" })
	if !slices.Equal(sorted(got), want) {
		t.Fatalf("second listing %q; want %q", got, want)
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(sorted(got), []string{"d1.0", "d2.0", "d4.0", "d5.0"}) {
		t.Fatalf("after removing d3, listed %q; want d1 d2 d4 d5", got)
	}

	// A replay's claiming cursor removes the rest.
	got, elsewhere := readDeadLetters(t, b, spec, stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second}, func(stream.DeadLetter) bool { return true })
	if !slices.Equal(sorted(got), []string{"d1.0", "d2.0", "d4.0", "d5.0"}) || elsewhere != 0 {
		t.Fatalf("replayed %q (%d held elsewhere); want d1 d2 d4 d5", got, elsewhere)
	}
	wantCommittedAtEnds(t, c, dlq, ends)
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); len(got) != 0 {
		t.Errorf("after the replay, listed %q; want none", got)
	}
}

// TestDeadLettersRemovedBehindKeptNotReturnedAgain (a plain topic): a
// dead letter removed behind a kept one (a filtered replay) is not
// returned again by a later cursor that removes the kept one. That
// Remove moves the committed offset over it, taking it off the removed
// list, and the cursor, reading on, returned it as a dead letter: a
// second replay sent it again.
func TestDeadLettersRemovedBehindKeptNotReturnedAgain(t *testing.T) {
	t.Parallel()
	_, b, spec, dlq := deadLetterSetup(t)
	p := bindProducer(t, b, dlq, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, v := range []string{"a", "b", "c"} {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(v), Headers: map[string]string{idHeader: v}}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, func(d stream.DeadLetter) bool { return string(d.Envelope.Payload) == "b" }); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("first run read %q", got)
	}
	got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, func(stream.DeadLetter) bool { return true })
	if !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("second run read %q; want a c (b was removed)", got)
	}
}

// TestDeadLettersOnlySkippedCommittedToEnd: a replay (a claiming cursor)
// that reads a partition to its end commits the group's position past
// the transaction markers and aborted records there when no dead letter
// is kept before them, though it removed none: a partition holding only
// an aborted transaction, and the tail an aborted transaction added after
// a replay, stayed behind the group's committed offset for ever (lag no
// replay cleared), as only Remove moved it. A listing (not claiming)
// commits nothing.
func TestDeadLettersOnlySkippedCommittedToEnd(t *testing.T) {
	t.Parallel()
	c, b, spec, dlq := deadLetterSetup(t)
	if err := c.Kfake.CreateTopic(dlq, 2, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("a-"+dlq),
		kgo.DefaultProduceTopic(dlq), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	txn := func(part int32, v string, how kgo.TransactionEndTry) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: part, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, how); err != nil {
			t.Fatal(err)
		}
	}
	committed := func(want map[int]int64) {
		t.Helper()
		res, err := pipeClient(c).OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: kafka.DefaultDeadLetterGroup, Topics: map[string][]int{dlq: {0, 1}}})
		if err == nil && errors.Is(res.Error, kafkago.GroupIdNotFound) {
			res.Error = nil // never committed: -1 everywhere
			res.Topics = map[string][]kafkago.OffsetFetchPartition{dlq: {{Partition: 0, CommittedOffset: -1}, {Partition: 1, CommittedOffset: -1}}}
		}
		if err != nil || res.Error != nil {
			t.Fatalf("offset fetch: %v %v", err, res.Error)
		}
		for _, p := range res.Topics[dlq] {
			if p.Error != nil || p.CommittedOffset != want[p.Partition] || p.Metadata != "" {
				t.Errorf("partition %d: committed %d %q (%v); want %d", p.Partition, p.CommittedOffset, p.Metadata, p.Error, want[p.Partition])
			}
		}
	}
	replay := stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second}
	all := func(stream.DeadLetter) bool { return true }

	txn(0, "d1", kgo.TryCommit) // p0: d1 C
	txn(1, "x1", kgo.TryAbort)  // p1: x1 A (no dead letter)
	txn(0, "d2", kgo.TryCommit) // p0: d2 C
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(got, []string{"d1", "d2"}) {
		t.Fatalf("listed %q; want d1 d2", got)
	}
	committed(map[int]int64{0: -1, 1: -1}) // a listing changes nothing
	// A filtered replay that keeps d2: p0 stays before it.
	if got, _ := readDeadLetters(t, b, spec, replay, func(d stream.DeadLetter) bool { return string(d.Envelope.Payload) == "d1" }); !slices.Equal(got, []string{"d1", "d2"}) {
		t.Fatalf("replay read %q; want d1 d2", got)
	}
	committed(map[int]int64{0: 2, 1: 2})
	if got, _ := readDeadLetters(t, b, spec, replay, all); !slices.Equal(got, []string{"d2"}) {
		t.Fatalf("second replay read %q; want d2", got)
	}
	committed(map[int]int64{0: 4, 1: 2})

	txn(0, "x2", kgo.TryAbort) // after the replay: p0 x2 A
	if got, _ := readDeadLetters(t, b, spec, replay, all); len(got) != 0 {
		t.Fatalf("third replay read %q; want none", got)
	}
	committed(map[int]int64{0: 6, 1: 2})
}

// TestDeadLettersTransactionalRemovedBehindKeptFit: a filtered replay of a
// dead-letter topic written in transactions removes as many dead letters
// behind a kept one as on a plain topic. Those are listed in the commit's
// metadata as ranges, and the transaction marker after each dead letter
// broke every range: "2,4,6,…" reached the broker's 4 KiB after some 900
// dead letters, where a plain topic's "1-1000" is short, and the replay
// failed with the copy sent but the dead letter not removed (the next run
// replays it again). A range now spans the markers and aborted records
// between removed dead letters.
func TestDeadLettersTransactionalRemovedBehindKeptFit(t *testing.T) {
	t.Parallel()
	c, b, spec, _ := deadLetterSetup(t)
	const n = 1200 // dead letters, each in a transaction of its own: d C d C …
	dlq := txnDLQ(t, c, spec, n)
	replay := stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second}
	got, _ := readDeadLetters(t, b, spec, replay, func(d stream.DeadLetter) bool { return string(d.Envelope.Payload) != "d0" })
	if len(got) != n {
		t.Fatalf("replay read %d dead letters, want %d", len(got), n)
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(got, []string{"d0"}) {
		t.Fatalf("after the filtered replay, listed %q; want d0", got)
	}
	if got, _ := readDeadLetters(t, b, spec, replay, func(stream.DeadLetter) bool { return true }); !slices.Equal(got, []string{"d0"}) {
		t.Fatalf("second replay read %q; want d0", got)
	}
	// The bound starts here: the replays before took over 60 s under load.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := pipeClient(c).OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: kafka.DefaultDeadLetterGroup, Topics: map[string][]int{dlq: {0}}})
	if err == nil {
		err = res.Error // res is nil when err is not
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	for _, p := range res.Topics[dlq] {
		if p.Error != nil || p.CommittedOffset != 2*n || p.Metadata != "" {
			t.Errorf("committed %d %q (%v); want %d, the end, with nothing listed", p.CommittedOffset, p.Metadata, p.Error, 2*n)
		}
	}
}
