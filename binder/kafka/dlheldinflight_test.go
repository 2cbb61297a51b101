package kafka_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterHeldCountsInFlight: while the broker refuses a failed
// message's dead letter for now (not enough replicas), the binder retries
// it and does not commit the message: the message is not settled, so it
// counts in flight through the spec's Holding hook (the core's in-flight
// gauges) until its dead letter is written, then no longer. Before, the
// count ended when the handler returned: 0 while the partition waited.
func TestDeadLetterHeldCountsInFlight(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	src := uniqueTopic(t)
	dlq := stream.DLQName(src, "g")
	createTopic(t, c, src, 1, nil)
	createTopic(t, c, dlq, 1, nil)
	ref := refuseProduceTo(c, dlq, kerr.NotEnoughReplicas, -1)
	t.Cleanup(ref.stop)

	var holding atomic.Int64
	spec := consumerSpec(src, "g", func(context.Context, stream.Envelope) error {
		return stream.Permanent(errors.New("quantity must be positive"))
	})
	spec.Consumer.DLQ = true
	spec.Holding = func(k int) func() {
		holding.Add(int64(k))
		var once sync.Once
		return func() { once.Do(func() { holding.Add(-int64(k)) }) }
	}
	startConsumer(t, b, spec)
	dead := make(chan stream.Envelope, 1)
	startConsumer(t, b, consumerSpec(dlq, "audit", func(_ context.Context, m stream.Envelope) error {
		dead <- m
		return nil
	}))
	p := bindProducer(t, b, src, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("poison")}); err != nil {
		t.Fatal(err)
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for !cond() {
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("%s: not within the test's deadline (refused dead letters %d, in flight %d)", what, ref.hits.Load(), holding.Load())
			}
		}
	}
	waitUntil("the dead letter refused twice", func() bool { return ref.hits.Load() >= 2 })
	if n := holding.Load(); n != 1 {
		t.Errorf("%d messages counted in flight while the dead letter is retried; want 1", n)
	}
	ref.stop()
	select {
	case <-dead:
	case <-ctx.Done():
		t.Fatal("no dead letter once the broker took it")
	}
	waitUntil("nothing in flight once the dead letter went", func() bool { return holding.Load() == 0 })
}
