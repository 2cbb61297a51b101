package redis_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/streambind/streambind/stream"
)

// TestCloseLeavesNothing: after Close, the binder's goroutines (intake,
// reclaimer, keeper, acker, flushers, health probe, trimmer) and go-redis's
// are gone.
func TestCloseLeavesNothing(t *testing.T) {
	e := newEnv(t)
	before := goleak.IgnoreCurrent()
	b := e.binder(t, nil)
	tr := newTracker()
	for _, g := range []string{"g", ""} {
		c, err := b.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "x-in-" + g, Destination: "leak", Group: g, ContentType: "application/json",
			Consumer: stream.ConsumerConfig{Concurrency: 2, MaxAttempts: 1, InstanceCount: 1, DLQ: g != ""}, // an anonymous consumer has none
			Handler:  func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader] + g); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "x-out-0", Destination: "leak", ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	send(t, p, []string{"a", "b"})
	tr.wait(t, []string{"ag", "bg", "a", "b"}, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}
