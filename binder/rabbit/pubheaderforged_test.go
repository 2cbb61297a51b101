package rabbit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestSendWithPubHeaderUnroutable: a message that comes to Send with an
// x-streambind-pub header of its own (a header the binder's publisher
// correlates basic.returns by; an input from another client or binder
// can carry it, and a function's output inherits its input's headers)
// still fails as unroutable when no queue takes it, and is published
// without that header where it is routed. Before, the header went out as
// it was, the broker's return was matched to it and not to the publish,
// and Send of an unroutable message succeeded: lost without a word.
func TestSendWithPubHeaderUnroutable(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dest := uniqueDest(t, "pubforged")
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "pf-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	forged := stream.Headers{pubHeader: "not-the-publishers"}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x"), Headers: forged.Clone()}); !errors.Is(err, ErrUnroutable) {
		t.Errorf("Send with header %s, no queue bound: %v, want ErrUnroutable", pubHeader, err)
	}
	done := make(chan error, 1)
	p.(stream.AsyncProducer).SendAsync(ctx, stream.Envelope{Payload: []byte("x"), Headers: forged.Clone()}, func(err error) { done <- err })
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnroutable) {
			t.Errorf("SendAsync with header %s, no queue bound: %v, want ErrUnroutable", pubHeader, err)
		}
	case <-ctx.Done():
		t.Fatal("SendAsync's result did not come")
	}

	// Routed: published without it.
	ch := rabbittest.Channel(t, vhost)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "#", dest, false, nil); err != nil {
		t.Fatal(err)
	}
	// Nor with a dead-lettering time of its own (an output of a
	// dead-letters-of reader inherits its input's): in a dead-letter
	// queue it would pass for the dead letter's time.
	withAt := forged.Clone()
	withAt[headerDeadLetteredAt] = "4102444800000"
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("y"), Headers: withAt}); err != nil {
		t.Fatal(err)
	}
	d := getOne(ctx, t, ch, q.Name)
	for _, h := range []string{pubHeader, headerDeadLetteredAt} {
		if v, ok := d.Headers[h]; ok {
			t.Errorf("published with header %s = %#v", h, v)
		}
	}
}
