package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestSlowKeyDoesNotHoldBackOtherKeys: concurrency 4, six entries of key
// a whose handler blocks (until the test ends) written before twenty of
// other keys. The entries of a wait behind the first one, in a handler:
// no idle worker can start them, and they do not keep the member from
// reading the others, which three idle workers handle at once. Counted
// against the hold limit (one call's worth a worker until a cost is
// measured: 4), a..4 took it up and the member read nothing more until
// a's backlog drained: the other twenty waited for it (8 s with a 2 s
// handler, for ever here).
func TestSlowKeyDoesNotHoldBackOtherKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const dest = "slowkey"
	ctx := context.Background()
	b := e.binder(t, nil)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	release := make(chan struct{})
	defer close(release) // before the consumer's clean-up stops it
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			if string(m.Key) == "a" {
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
				return nil
			}
			tr.receive(m.Headers[idHeader])
			return nil
		}})
	for _, id := range ids("a", 6) {
		m := msg(id)
		m.Key = []byte("a")
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	others := ids("o", 20)
	for i, id := range others {
		m := msg(id)
		m.Key = []byte{'k', byte('a' + i)}
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, others, 15*time.Second)
}
