package rabbit

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// javaProps are the properties of a message a Java client (Spring AMQP's
// RabbitTemplate) publishes for a request.
var javaProps = amqp.Publishing{ContentType: "text/plain", CorrelationId: "corr-1", ReplyTo: "replies",
	Type: "OrderCreated", AppId: "billing", Priority: 5, Expiration: "600000", Timestamp: time.Unix(1_700_000_000, 0)} // AMQP: seconds

// TestLivePropertyHeaders: a live delivery's AMQP properties reach the
// handler as the headers SCSt's RabbitMQ binder (Spring AMQP's inbound
// mapper) gives them: amqp_type, amqp_correlationId, amqp_replyTo,
// amqp_appId, priority, amqp_expiration, amqp_timestamp; a header of the
// message's own of such a name wins; a message without them gets none
// (but the received headers every live delivery has).
// Before, only a dead letter read through the DeadLetterStore had them.
func TestLivePropertyHeaders(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "liveprops")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan stream.Envelope, 3)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "lp-in-0", Destination: dest, Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got <- m; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	ch := rabbittest.Channel(t, vhost)
	own := javaProps
	own.Headers = amqp.Table{"amqp_type": "mine"}
	for i, m := range []amqp.Publishing{javaProps, own, {ContentType: "text/plain"}} {
		m.Body = []byte(strconv.Itoa(i))
		if err := ch.PublishWithContext(ctx, dest, dest, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"amqp_type": "OrderCreated", "amqp_correlationId": "corr-1", "amqp_replyTo": "replies",
		"amqp_appId": "billing", "priority": "5", "amqp_expiration": "600000", "amqp_timestamp": "1700000000000"}
	for i := range 3 {
		var m stream.Envelope
		select {
		case m = <-got:
		case <-ctx.Done():
			t.Fatalf("message %d not delivered", i)
		}
		for k, v := range want {
			switch {
			case i == 1 && k == "amqp_type":
				v = "mine"
			case i == 2:
				v = ""
			}
			if m.Headers[k] != v {
				t.Errorf("message %s: header %s = %q, want %q", m.Payload, k, m.Headers[k], v)
			}
		}
		if i == 2 {
			for k := range m.Headers {
				if isReceivedHeader(k) {
					continue // every live delivery has them (receivedheaders_test.go)
				}
				if strings.HasPrefix(k, "amqp_") || k == "priority" {
					t.Errorf("message without properties: header %s = %q", k, m.Headers[k])
				}
			}
		}
	}
}

// TestPropertyHeadersRouteAndHop: with the properties as headers, SCSt's
// routing-expression on headers['amqp_type'] routes a message published
// with type OrderCreated to its function (it went to the other one:
// headers['amqp_type'] was null), one on headers['amqp_receivedRoutingKey']
// too; and a function's output keeps its input's correlation_id,
// reply_to, type, app_id, priority and expiration as AMQP properties (as
// SCSt's outbound mapper sets them from the inherited amqp_* headers),
// with no amqp_* header on the wire, so a reply still finds its
// requester through the hop.
func TestPropertyHeadersRouteAndHop(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	routed := make(chan string, 4)
	fns := stream.NewCatalog()
	for _, f := range []string{"log", "log2", "log3"} {
		stream.AddConsumer(fns, f, func(_ context.Context, s string) error { routed <- f + ":" + s; return nil })
	}
	stream.AddFunction(fns, "fwd", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stop := startPrefixApp(t, vhost, `  function:
    definition: functionRouter;fwd
    routing-expression: "headers['amqp_type']=='OrderCreated' ? 'log' : (headers['amqp_receivedRoutingKey']=='rk3' ? 'log3' : 'log2')"
  bindings:
    functionRouter-in-0:
      destination: orders
      group: g
      content-type: text/plain
    fwd-in-0:
      destination: hopin
      group: g
      content-type: text/plain
    fwd-out-0:
      destination: hopout
      content-type: text/plain
`, fns)
	defer func() { _ = stop() }()
	ch := rabbittest.Channel(t, vhost)
	raw := "hopout.raw"
	if _, err := ch.QueueDeclare(raw, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(raw, "#", "hopout", false, nil); err != nil {
		t.Fatal(err)
	}
	pub := func(exchange, key string, m amqp.Publishing, body string) {
		t.Helper()
		m.Body = []byte(body)
		if err := ch.PublishWithContext(ctx, exchange, key, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	pub("orders", "orders", javaProps, "a")
	pub("orders", "rk3", amqp.Publishing{ContentType: "text/plain"}, "b")
	pub("orders", "orders", amqp.Publishing{ContentType: "text/plain", Type: "Other"}, "c")
	for _, want := range []string{"log:a", "log3:b", "log2:c"} {
		select {
		case r := <-routed:
			if r != want {
				t.Errorf("routed %s, want %s", r, want)
			}
		case <-ctx.Done():
			t.Fatalf("%s not routed", want)
		}
	}

	pub("hopin", "hopin", javaProps, "req")
	out := getOne(ctx, t, ch, raw)
	if string(out.Body) != "REQ" || out.CorrelationId != "corr-1" || out.ReplyTo != "replies" || out.Type != "OrderCreated" ||
		out.AppId != "billing" || out.Priority != 5 || out.Expiration != "600000" {
		t.Errorf("output %s: correlation_id %q reply_to %q type %q app_id %q priority %d expiration %q",
			out.Body, out.CorrelationId, out.ReplyTo, out.Type, out.AppId, out.Priority, out.Expiration)
	}
	for k, v := range out.Headers {
		if strings.HasPrefix(k, "amqp_") {
			t.Errorf("output has header %s = %v: Spring AMQP sends no amqp_* header", k, v)
		}
	}
}
