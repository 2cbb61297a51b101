package rabbit

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestRoutingHeadersNotSentAsText: RabbitMQ refuses a message whose CC or
// BCC header (sender-selected distribution: routing keys) is not an array
// (PRECONDITION_FAILED, unacceptable_type_in_header), and an envelope's
// headers are text. A function's output inherits its input's headers, so
// every message another client published with CC failed the function's
// output send for good and was dead-lettered (without the fix: Send
// failed permanently for CC and for BCC, also with the input's headers
// as received). Now they are left out; a header "cc" is sent as any other.
func TestRoutingHeadersNotSentAsText(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	in, out := uniqueDest(t, "ccin"), uniqueDest(t, "ccout")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "cc-out-0", Destination: out, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []stream.Headers{{"CC": "[k1 k2]", "cc": "kept"}, {"BCC": "k3", "cc": "kept"}} {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("direct"), Headers: h}); err != nil {
			t.Errorf("Send with headers %v: %v", h, err)
		}
	}
	// As a function would: an input published with CC, its headers sent
	// on with the output.
	sent := make(chan error, 1)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "cc-in-0", Destination: in, Group: "g",
		Handler: func(ctx context.Context, m stream.Envelope) error {
			err := p.Send(ctx, stream.Envelope{Payload: m.Payload, Headers: m.Headers})
			sent <- err
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, in, "", false, false, amqp.Publishing{Body: []byte("inherited"),
		Headers: amqp.Table{"CC": []any{"elsewhere"}, "cc": "kept"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-sent:
		if err != nil {
			t.Errorf("Send of the input's headers: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the input was not handled")
	}
	for range 3 {
		d := getOne(ctx, t, ch, out+".g")
		if _, ok := d.Headers["CC"]; ok || d.Headers["cc"] != "kept" {
			t.Errorf("%s: headers %v", d.Body, d.Headers)
		}
	}
}
