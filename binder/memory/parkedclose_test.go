package memory_test

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A message parked for a delayed retry is let go when the broker closes:
// its timer kept it (payload and all) in memory until the delay ran out,
// an hour here, after Close had dropped everything else the broker held.
func TestCloseLetsGoOfParkedRetries(t *testing.T) {
	br, err := memory.NewBroker(memory.Config{})
	must(t, err)
	bd, err := memory.Factory(br)(ctxT(t), stream.BinderSettings{Name: "a"})
	must(t, err)
	ctx := ctxT(t)
	seen := make(chan weak.Pointer[byte], 1)
	c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Handler: func(_ context.Context, m stream.Envelope) error {
		select {
		case seen <- weak.Make(&m.Payload[0]):
		default:
		}
		return &stream.DelayedRetry{Delay: time.Hour}
	}})
	must(t, err)
	must(t, c.Start(ctx))
	p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "out", Destination: "d"})
	must(t, err)
	must(t, p.Send(ctx, stream.Envelope{Payload: make([]byte, 1<<20)}))
	var wp weak.Pointer[byte]
	select {
	case wp = <-seen:
	case <-ctx.Done():
		t.Fatal("the message was not handled")
	}
	must(t, br.Close(ctx))
	for i := 0; i < 10 && wp.Value() != nil; i++ {
		runtime.GC()
	}
	if wp.Value() != nil {
		t.Fatal("after Broker.Close the payload of a message parked for a delayed retry is still held")
	}
}
