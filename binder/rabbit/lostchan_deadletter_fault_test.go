//go:build ownconnfault

package rabbit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestFaultLostChannelNotDeadLetteredTwice: a handler fails for good
// after its consumer channel was lost (the test closes the binder's
// consumer connection while the handler runs). The dead letter went out
// on the publisher connection and the ack was dropped, so the broker
// redelivered the message, which failed again: two dead letters of one
// message. Now a failed delivery of a lost channel is left to its
// redelivery, which dead-letters it once.
func TestFaultLostChannelNotDeadLetteredTwice(t *testing.T) {
	t.Parallel() // its own vhost and connections
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dest := uniqueDest(t, "lostdl")
	var calls atomic.Int32
	entered, release, second := make(chan struct{}), make(chan struct{}), make(chan struct{})
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "l-in-0", Destination: dest, Group: "g", ContentType: "application/json",
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, DLQ: true},
		Handler: func(context.Context, stream.Envelope) error {
			switch calls.Add(1) {
			case 1:
				close(entered)
				<-release
			case 2:
				close(second)
			}
			return errors.New("boom")
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "l-out-0", Destination: dest, ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("the message was not handled")
	}
	gen := b.sub.generation()
	if n := rabbittest.CloseConnections(t, vhost, "streambind-consumer"); n == 0 {
		t.Fatal("no consumer connection of the test's vhost to close")
	}
	for b.sub.generation() == gen { // the binder saw the channel lost and reconnected
		if _, _, err := b.sub.get(ctx); err != nil {
			t.Fatal(err)
		}
		if b.sub.generation() == gen {
			time.Sleep(10 * time.Millisecond) // the old connection is not seen closed yet
		}
	}
	close(release)
	select {
	case <-second: // the redelivery
	case <-ctx.Done():
		t.Fatal("the message was not redelivered")
	}
	if err := c.Stop(ctx); err != nil { // its settlement done
		t.Fatal(err)
	}
	ch := rabbittest.Channel(t, vhost)
	q, err := ch.QueueDeclarePassive(dest+".g.dlq", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != 1 {
		t.Fatalf("the DLQ holds %d dead letters of the one message, want 1", q.Messages)
	}
}
