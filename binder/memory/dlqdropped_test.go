package memory_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// An anonymous partitioned consumer (instance 1 of 2) of the dead-letter
// destination stores the dead letters of every partition: partitioned does
// not apply without a group (SCSt's rule), so none is dropped. It stored
// only partition 1's, and the dead letter of partition 0 was dropped
// (counted, with a WARN).
func TestDeadLetterToAnonymousPartitionedConsumerNotDropped(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	failed := make(chan struct{}, 2)
	var logged syncbuf.Buffer
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "orders", Group: "billing", Consumer: stream.ConsumerConfig{DLQ: true},
		Logger: slog.New(slog.NewTextHandler(&logged, nil)),
		Handler: func(context.Context, stream.Envelope) error {
			defer func() { failed <- struct{}{} }()
			return stream.Permanent(errors.New("card declined"))
		}})
	dead := newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Binding: "dlq-in-0", Destination: stream.DLQName("orders", "billing"),
		Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 2, InstanceIndex: 1}, Handler: dead.handler}).Start(ctxT(t)))
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "orders"})
	dropped := func() int64 { return c.(stream.DeadLetterReporter).DeadLetterStats().Dropped }

	must(t, p.Send(ctxT(t), msg("kept", 1))) // partition 1
	<-failed
	if m := dead.next(t); string(m.Payload) != "kept" {
		t.Fatalf("dead letter %q", m.Payload)
	}
	if n := dropped(); n != 0 {
		t.Fatalf("DeadLetterStats().Dropped = %d after a stored dead letter, want 0", n)
	}

	must(t, p.Send(ctxT(t), msg("also-kept", 0))) // partition 0: stored too
	<-failed
	if m := dead.next(t); string(m.Payload) != "also-kept" {
		t.Fatalf("dead letter %q", m.Payload)
	}
	if n := dropped(); n != 0 {
		t.Fatalf("DeadLetterStats().Dropped = %d, want 0", n)
	}
	if line := logged.String(); strings.Contains(line, "dead letter dropped") {
		t.Errorf("logged %q, want no dropped dead letter", line)
	}
}
