package memory_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestRetryDelays: non-blocking retries on the in-process broker (the
// shared scenario of bindertest.RunRetryDelays).
func TestRetryDelays(t *testing.T) {
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: memory.Type, Factory: memory.Factory(newBroker(t, memory.Config{})), Destination: "orders",
	})
}

// TestDepthCountsParkedRetries: messages parked for a delayed retry are
// still owed to their group, so Depth counts them with the ones waiting
// in its queue (it reported 0 for a group with every message parked).
func TestDepthCountsParkedRetries(t *testing.T) {
	br := newBroker(t, memory.Config{})
	bd, err := memory.Factory(br)(ctxT(t), stream.BinderSettings{Name: "a"})
	must(t, err)
	ctx := ctxT(t)
	// One worker: once the last message is handled, every message before
	// it has been parked.
	last := make(chan struct{})
	c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in", Destination: "parked", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error {
			if string(m.Payload) == "last" {
				close(last)
				return nil
			}
			return &stream.DelayedRetry{Delay: time.Hour}
		}})
	must(t, err)
	p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "out", Destination: "parked"})
	must(t, err)
	const parked = 1000
	for i := range parked {
		must(t, p.Send(ctx, stream.Envelope{Payload: []byte(strconv.Itoa(i))}))
	}
	if n, ok := br.Depth("parked", "g"); !ok || n != parked {
		t.Fatalf("Depth before the consumer started = %d, %v; want %d, true", n, ok, parked)
	}
	must(t, c.Start(ctx))
	must(t, p.Send(ctx, stream.Envelope{Payload: []byte("last")}))
	select {
	case <-last:
	case <-ctx.Done():
		t.Fatal("the last message was not handled")
	}
	if n, _ := br.Depth("parked", "g"); n != parked {
		t.Fatalf("Depth with %d messages parked for a delayed retry = %d", parked, n)
	}
	must(t, c.Stop(ctx))
}
