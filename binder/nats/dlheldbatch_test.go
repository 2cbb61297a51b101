package nats_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterHeldBatchCountsInFlight: a failed batch's messages are
// dead-lettered one after the other; while the dead-letter stream refuses
// the first's dead letter (full), none of the three is settled, so all
// three count in flight, each until it is terminated, then none. Before,
// only the one being dead-lettered counted: 1.
func TestDeadLetterHeldBatchCountsInFlight(t *testing.T) {
	f := setUpHeldDLQ(t, "heldbatch")
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	p := bindProducer(t, f.b, stream.ProducerSpec{Destination: f.dest})
	ids := []string{"m0", "m1", "m2"}
	for _, id := range ids { // before the consumer starts: one batch
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	var holding bindertest.Holding
	sizes := make(chan int, 1)
	startConsumer(t, f.b, stream.ConsumerSpec{Destination: f.dest, Group: "g", Logger: slog.New(f.ll),
		BatchHandler: func(_ context.Context, ms []stream.Envelope) error {
			select {
			case sizes <- len(ms):
			default:
			}
			return errors.New("always fails")
		},
		Consumer:  stream.ConsumerConfig{DLQ: true, BatchMode: true},
		Extension: map[string]any{"ack-wait": "1s", "redelivery-delay": "100ms", "dlq-attempts": 2, "batch-size": 3},
		Holding:   holding.Hold})
	select {
	case n := <-sizes:
		if n != len(ids) {
			t.Skipf("the first batch has %d messages, not the %d sent before the start", n, len(ids))
		}
	case <-ctx.Done():
		t.Fatal("the batch handler was not called")
	}
	if !f.ll.wait(heldWarn, 10*time.Second) {
		t.Fatal("no WARN that the failed message is held")
	}
	if n := holding.N(); n != 3 {
		t.Errorf("%d messages counted in flight while the batch's first dead letter is held; want 3 (none settled)", n)
	}
	// Room in the dead-letter stream: the dead letters go.
	cfg := f.dls.CachedInfo().Config
	cfg.MaxMsgs = -1
	if _, err := f.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "nothing counted in flight once the dead letters went", func() bool { return holding.N() == 0 })
}
