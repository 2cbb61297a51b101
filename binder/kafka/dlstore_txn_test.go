package kafka_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

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

// TestDeadLettersRemovedBehindKeptNotReturnedAgain (a plain topic): a
// dead letter removed behind a kept one (a filtered replay) is not
// returned again by a later cursor that removes the kept one. That
// Remove moves the committed offset over it, taking it off the removed
// list, and the cursor, reading on, returned it as a dead letter: a
// second replay sent it again.
func TestDeadLettersRemovedBehindKeptNotReturnedAgain(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
	p := bindProducer(t, b, stream.ErrorDestinationSource(spec, "").Destination, 1)
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
