package rabbit

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestEndedContextNothingToWaitFor: Stop of a stopped consumer and Close
// of a producer with no send in flight have nothing to wait for and
// return nil even when their context has ended (a shutdown whose budget an
// earlier step used up). They chose at random between the finished wait
// and the ended context, and half the time reported "handlers still
// running" or "sends still unconfirmed" about nothing.
func TestEndedContextNothingToWaitFor(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "ended")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "e-in-0", Destination: dest, Group: "g",
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	ended, end := context.WithCancel(context.Background())
	end()
	for i := range 50 {
		if err := c.Stop(ended); err != nil {
			t.Fatalf("Stop %d of a stopped consumer with an ended context: %v", i, err)
		}
	}
	for i := range 50 {
		p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "e-out-0", Destination: dest})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("m")}); err != nil {
			t.Fatal(err)
		}
		if err := p.(interface{ Close(context.Context) error }).Close(ended); err != nil {
			t.Fatalf("Close %d of a producer with nothing in flight, with an ended context: %v", i, err)
		}
	}
}
