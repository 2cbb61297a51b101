package redis_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestIdleProducerCloseWithEndedContext: a producer that has no send in
// progress closes without an error even when Close's context has ended
// (a shutdown whose time the bindings' Stop used up). Close chose at
// random between "no send in progress" and "ctx ended" (a select of
// both), then between "the flushers returned" and "ctx ended", so that
// an output binding that never sent reported "close producer
// produce-out-0: sends still waiting for Redis: context deadline
// exceeded" (an operator's rolling-restart trial), or "a pipeline is
// still waiting for Redis".
func TestIdleProducerCloseWithEndedContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 50 {
		p, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "produce-out-0", Destination: "idleclose", ContentType: stream.DefaultContentType})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 { // one that sent before, as well as one that never did
			if err := p.Send(context.Background(), stream.Envelope{Payload: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ended); err != nil {
			t.Fatalf("round %d: Close of an idle producer with an ended context: %v", i, err)
		}
	}
}
