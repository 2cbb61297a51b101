package redis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestNakRedeliveryDelay: a Nak'ed message is handled again no sooner than
// redelivery-delay after the Nak, again and again — no hot loop.
func TestNakRedeliveryDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	const delay = 250 * time.Millisecond
	var mu sync.Mutex
	var calls []time.Time
	done := make(chan struct{})
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "nak", Group: "g",
		Extension: map[string]any{"redelivery-delay": delay.String()},
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, time.Now())
			if len(calls) < 4 {
				return fmt.Errorf("not now: %w", stream.ErrNak)
			}
			close(done)
			return nil
		}})
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: "nak"}), []string{"m"})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the message was not acknowledged after three Naks")
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Sub(calls[i-1]); gap < delay {
			t.Errorf("delivery %d came %s after the Nak, want at least redelivery-delay %s", i+1, gap, delay)
		}
	}
}

// TestNakHoldPauseStop: a message held for its redelivery delay is not
// handled while the binding is paused (and Pause does not wait for the
// hold); Stop during a hold returns at once and gives the message back to
// the group, where another member handles it.
func TestNakHoldPauseStop(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	const delay = 200 * time.Millisecond
	nak := make(chan time.Time, 10)
	var mu sync.Mutex
	paused := false
	var violations []string
	c := bindConsumer(t, b, stream.ConsumerSpec{Destination: "hold", Group: "g",
		Extension: map[string]any{"redelivery-delay": delay.String()},
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			if paused {
				violations = append(violations, m.Headers[idHeader])
			}
			mu.Unlock()
			nak <- time.Now()
			return stream.ErrNak
		}})
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: "hold"}), []string{"m"})
	<-nak
	ctx, cancel := context.WithTimeout(context.Background(), delay/2)
	err := c.Pause(ctx)
	cancel()
	if err != nil {
		t.Fatalf("Pause waited for a message held for redelivery: %v", err)
	}
	mu.Lock()
	paused = true
	mu.Unlock()
	select {
	case <-nak:
		t.Fatal("handled while paused")
	case <-time.After(3 * delay):
	}
	mu.Lock()
	paused = false
	mu.Unlock()
	if err := c.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-nak: // handled again after Resume, and Nak'ed again: held now
	case <-time.After(5 * time.Second):
		t.Fatal("not handled after Resume")
	}
	start := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Stop during a hold took %s", d)
	}
	tr := newTracker()
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: "hold", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	tr.wait(t, []string{"m"}, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("handled while paused: %v", violations)
	}
}
