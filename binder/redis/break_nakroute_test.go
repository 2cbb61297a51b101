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
