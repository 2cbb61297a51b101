package rabbit

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestReceivedHeaders: a live delivery reaches the handler with the
// received headers SCSt's handler gets (spring-integration-amqp's
// DefaultAmqpHeaderMapper): amqp_receivedExchange (also "" for the
// default exchange), amqp_receivedRoutingKey, amqp_consumerQueue,
// amqp_redelivered ("false", then "true" when the Nak'ed message comes
// again) and amqp_consumerTag (consumer-tag-prefix's <prefix>#<n>). A
// header amqp_receivedExchange, amqp_receivedRoutingKey or amqp_redelivered
// that the message carries wins over the binder's value, as in Spring's
// mapper (the message's own headers mapped over those three); the
// binder's amqp_consumerQueue and amqp_consumerTag win over the message's
// (Spring's mapper adds them last), and Received keeps the binder's
// values. Before, only expressions could read them (stream.Received): a
// handler reading @Header(AmqpHeaders.RECEIVED_ROUTING_KEY)'s header got
// nothing; and then the binder's values won over all five.
func TestReceivedHeaders(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "rcvh")
	queue := dest + ".g"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan stream.Envelope, 4)
	var nakked atomic.Bool
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "rh-in-0", Destination: dest, Group: "g",
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1},
		Extension: map[string]any{"consumer-tag-prefix": "rcvtag", "redelivery-delay": "10ms"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if string(m.Payload) == "a" && !nakked.Swap(true) {
				got <- m
				return stream.ErrNak
			}
			got <- m
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, dest, "orders.eu", false, false, amqp.Publishing{Body: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	want := func(m stream.Envelope, k, v string) {
		t.Helper()
		if got, ok := m.Headers[k]; !ok || got != v {
			t.Errorf("message %s (redelivered %v): header %s = %q (present %v), want %q", m.Payload, m.Received.Redelivered, k, got, ok, v)
		}
	}
	next := func() stream.Envelope {
		t.Helper()
		select {
		case m := <-got:
			return m
		case <-ctx.Done():
			t.Fatal("message not delivered")
		}
		return stream.Envelope{}
	}
	for _, redelivered := range []string{"false", "true"} {
		m := next()
		want(m, "amqp_receivedExchange", dest)
		want(m, "amqp_receivedRoutingKey", "orders.eu")
		want(m, "amqp_consumerQueue", queue)
		want(m, "amqp_redelivered", redelivered)
		if tag := m.Headers["amqp_consumerTag"]; !strings.HasPrefix(tag, "rcvtag#") {
			t.Errorf("header amqp_consumerTag = %q, want rcvtag#<n>", tag)
		}
	}
	// Through the default exchange, straight to the queue: the exchange
	// is "", and given (Spring's mapper maps a non-null exchange).
	if err := ch.PublishWithContext(ctx, "", queue, false, false, amqp.Publishing{Body: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	m := next()
	want(m, "amqp_receivedExchange", "")
	want(m, "amqp_receivedRoutingKey", queue)
	want(m, "amqp_consumerQueue", queue)
	want(m, "amqp_redelivered", "false")

	// A message whose producer wrote headers of all five names.
	own := amqp.Table{"amqp_receivedExchange": "own-x", "amqp_receivedRoutingKey": "own-rk", "amqp_redelivered": "own-flag",
		"amqp_consumerQueue": "own-q", "amqp_consumerTag": "own-tag"}
	if err := ch.PublishWithContext(ctx, dest, "orders.us", false, false, amqp.Publishing{Body: []byte("c"), Headers: own}); err != nil {
		t.Fatal(err)
	}
	m = next()
	want(m, "amqp_receivedExchange", "own-x")
	want(m, "amqp_receivedRoutingKey", "own-rk")
	want(m, "amqp_redelivered", "own-flag")
	want(m, "amqp_consumerQueue", queue)
	if tag := m.Headers["amqp_consumerTag"]; !strings.HasPrefix(tag, "rcvtag#") {
		t.Errorf("message c: header amqp_consumerTag = %q, want the binder's rcvtag#<n>", tag)
	}
	if r := m.Received; r.Exchange != dest || r.RoutingKey != "orders.us" || r.Queue != queue || r.Redelivered {
		t.Errorf("message c: Received %+v, want the binder's values", r)
	}
}

// TestReceivedHeadersNotSent: the received headers a handler now has do
// not go on the wire: a function that returns its input Message with all
// its headers (as SCSt copies them) sends none of them, and nothing of
// them as a property (Spring's outbound mapper sets no property from them
// that a publish carries, and sends no amqp_* header); the dead letter of
// a message that failed keeps the original's exchange and routing key as
// x-original-exchange and x-original-routingKey only, as SCSt's
// republished one (it takes them from the properties, where they are no
// headers). A guard: the producer and the dead letter dropped them
// before they were added (toPublishing, keepProperties).
func TestReceivedHeadersNotSent(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fns := stream.NewCatalog()
	seen := make(chan stream.Headers, 2)
	stream.AddFunction(fns, "fwd", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		seen <- m.Headers
		if m.Payload == "fail" {
			return m, errors.New("refused")
		}
		return m, nil
	})
	stop := startPrefixApp(t, vhost, `  function:
    definition: fwd
  bindings:
    fwd-in-0:
      destination: rcvin
      group: g
      content-type: text/plain
      consumer:
        max-attempts: 1
    fwd-out-0:
      destination: rcvout
      content-type: text/plain
  rabbit:
    bindings:
      fwd-in-0:
        consumer:
          auto-bind-dlq: true
`, fns)
	defer func() { _ = stop() }()
	ch := rabbittest.Channel(t, vhost)
	raw := "rcvout.raw"
	if _, err := ch.QueueDeclare(raw, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(raw, "#", "rcvout", false, nil); err != nil {
		t.Fatal(err)
	}
	received := []string{"amqp_receivedExchange", "amqp_receivedRoutingKey", "amqp_consumerQueue", "amqp_redelivered", "amqp_consumerTag"}
	for _, body := range []string{"ok", "fail"} {
		if err := ch.PublishWithContext(ctx, "rcvin", "rk."+body, false, false, amqp.Publishing{Body: []byte(body), ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
		select {
		case h := <-seen:
			for _, k := range received {
				if _, ok := h[k]; !ok {
					t.Errorf("%s: the function's input has no %s header: %v", body, k, h)
				}
			}
		case <-ctx.Done():
			t.Fatalf("%s: not delivered", body)
		}
	}
	for _, q := range []string{raw, "rcvin.g.dlq"} {
		d := getOne(ctx, t, ch, q)
		for k, v := range d.Headers {
			if strings.HasPrefix(k, "amqp_") {
				t.Errorf("%s: %s: header %s = %v: Spring AMQP sends no amqp_* header", q, d.Body, k, v)
			}
		}
		if d.Type != "" || d.UserId != "" || d.AppId != "" || d.CorrelationId != "" || d.ReplyTo != "" {
			t.Errorf("%s: %s: properties set: type %q user_id %q app_id %q correlation_id %q reply_to %q", q, d.Body, d.Type, d.UserId, d.AppId, d.CorrelationId, d.ReplyTo)
		}
		if q == raw {
			continue
		}
		if d.Headers[stream.HeaderOriginalExchange] != "rcvin" || d.Headers[stream.HeaderOriginalRoutingKey] != "rk.fail" {
			t.Errorf("dead letter: %s = %v, %s = %v; want rcvin, rk.fail", stream.HeaderOriginalExchange, d.Headers[stream.HeaderOriginalExchange],
				stream.HeaderOriginalRoutingKey, d.Headers[stream.HeaderOriginalRoutingKey])
		}
	}
}

// isReceivedHeader reports whether k is one of the received headers every
// live delivery has (withReceivedHeaders).
func isReceivedHeader(k string) bool {
	switch k {
	case stream.HeaderReceivedExchange, stream.HeaderReceivedRoutingKey, stream.HeaderConsumerQueue, stream.HeaderRedelivered, headerConsumerTag:
		return true
	}
	return false
}
