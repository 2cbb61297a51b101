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
	t.Parallel()
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
// that is Nak'ed over and over (its downstream is down) holds back key K
// only. With a FIFO per worker it held back every key that hashed to its
// worker, and once that FIFO had taken half of prefetch the binding read
// nothing more: one Nak'ed key stopped every key (about 210 of 1000
// entries of 100 other keys handled).
func TestBreakNakKeyedHoldsOthers(t *testing.T) {
	t.Parallel()
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
