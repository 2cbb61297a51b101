package memory_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A dead letter that no group stores is counted dropped also when the
// dead-letter destination has groups, none of which takes it: here the
// only one is an anonymous partitioned consumer's (instance 1 of 2), which
// does not store partition 0. It was counted only when the destination
// had no group at all, so this lost dead letter went uncounted.
func TestDeadLetterDroppedCountedWhenNoGroupStoresIt(t *testing.T) {
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

	must(t, p.Send(ctxT(t), msg("kept", 1))) // partition 1: instance 1 stores it
	<-failed
	if m := dead.next(t); string(m.Payload) != "kept" {
		t.Fatalf("dead letter %q", m.Payload)
	}
	if n := dropped(); n != 0 {
		t.Fatalf("DeadLetterStats().Dropped = %d after a stored dead letter, want 0", n)
	}

	must(t, p.Send(ctxT(t), msg("lost", 0))) // partition 0: nobody stores it
	<-failed
	deadline := time.Now().Add(wait)
	for dropped() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("DeadLetterStats().Dropped = %d after a dead letter no group stored, want 1", dropped())
		}
		runtime.Gosched()
	}
	// Its WARN line (logged before the count) must not tell the operator
	// that the dlq has no group: one is bound, for the other partition.
	if line := logged.String(); !strings.Contains(line, "dead letter dropped") || strings.Contains(line, "is bound") {
		t.Errorf("WARN line for a dead letter that the bound group does not store: %q", line)
	}
}
