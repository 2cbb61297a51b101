package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBreakNakHoldsOnlyItsRoute: with concurrency 4, a keyless entry of
// the destination's own stream that is Nak'ed over and over (its
// downstream is down) must not hold back other keyless entries, which have
// no order among them. They waited for it when each worker had a FIFO of
// its own chosen round robin: every 4th entry never came, and the binding
// stopped reading once that FIFO had taken half of prefetch.
func TestBreakNakHoldsOnlyItsRoute(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "nakroute", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4},
		Handler: func(_ context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			if id == "stuck" {
				return stream.ErrNak
			}
			tr.receive(id)
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "nakroute"})
	send(t, p, []string{"stuck"})
	others := ids("m", 300)
	send(t, p, others)
	tr.wait(t, others, 10*time.Second)
}

// TestBreakNakKeyedHoldsOthers: with concurrency 4, an entry with key K
// that is Nak'ed over and over (its downstream is down) should hold back
// key K only. It holds back every key that hashes to its worker, and once
// that worker's FIFO has taken half of prefetch the binding reads nothing
// more: one Nak'ed key stops every key.
func TestBreakNakKeyedHoldsOthers(t *testing.T) {
	t.Skip("known, not fixed: one keyed entry Nak'ed for ever stops the whole binding (dispatch has a FIFO per worker, not per route, and prefetch bounds them together): " +
		"about 210 of 1000 entries of 100 other keys handled after 10s (the keys of the held worker never, the rest until prefetch filled). Reproduce: remove this Skip and run " +
		"go test -race -count=1 -run TestBreakNakKeyedHoldsOthers ./binder/redis")
	e := newEnv(t)
	b := e.binder(t, nil)
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "nakkeyed", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4},
		Handler: func(_ context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			if id == "stuck" {
				return stream.ErrNak
			}
			tr.receive(id)
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "nakkeyed"})
	ctx := context.Background()
	stuck := msg("stuck")
	stuck.Key = []byte("K")
	if err := p.Send(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	others := ids("m", 1000)
	for i, id := range others {
		m := msg(id)
		m.Key = []byte("k" + itoa(i%100))
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, others, 10*time.Second)
}
