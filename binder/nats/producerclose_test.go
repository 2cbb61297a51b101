package nats_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestIdleProducerCloseWithEndedContext: Close of a producer with no send
// in progress succeeds even when its context has ended already (the
// shutdown's time was spent elsewhere), as the Redis producer's does
// (1346e44). Close selected between the producer being idle and the ended
// context at random, so a producer that had sent nothing reported 'sends
// still waiting for their PubAck' about half the time.
func TestIdleProducerCloseWithEndedContext(t *testing.T) {
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "idleclose")
	b := newBinder(t, url, nil)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 50 {
		p, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "produce-out-0", Destination: dest, ContentType: stream.DefaultContentType})
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
