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

// TestRetryDeliveryKeepsReceivedOrigin: a message parked in a wait queue
// (retry-delays) comes back through the default exchange with the queue's
// name as its routing key; its handler must still see the exchange and
// routing key it was first received with (amqp_receivedExchange,
// amqp_receivedRoutingKey, stream.Received), as must its dead letter
// (x-original-exchange, x-original-routingKey), and the binder's own
// headers that carry them must not reach the handler. Before, the retried
// delivery read "" and "<queue>" (a handler that routes on the routing
// key took it for another message), and so did the dead letter.
func TestRetryDeliveryKeepsReceivedOrigin(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fns := stream.NewCatalog()
	got := make(chan stream.Message[string], 8)
	var failed atomic.Bool
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error {
		got <- m
		if m.Payload == "dead" || !failed.Swap(true) {
			return errors.New("refused")
		}
		return nil
	})
	stop := startPrefixApp(t, vhost, `  function:
    definition: sink
  bindings:
    sink-in-0:
      destination: rtin
      group: g
      content-type: text/plain
      consumer:
        retry-delays: 20ms
  rabbit:
    bindings:
      sink-in-0:
        consumer:
          auto-bind-dlq: true
`, fns)
	defer func() { _ = stop() }()
	ch := rabbittest.Channel(t, vhost)
	next := func() stream.Message[string] {
		t.Helper()
		select {
		case m := <-got:
			return m
		case <-ctx.Done():
			t.Fatal("not delivered")
		}
		return stream.Message[string]{}
	}
	check := func(m stream.Message[string], rk string) {
		t.Helper()
		if m.Received.Exchange != "rtin" || m.Received.RoutingKey != rk ||
			m.Headers["amqp_receivedExchange"] != "rtin" || m.Headers["amqp_receivedRoutingKey"] != rk {
			t.Errorf("%s (retry attempts %s): Received exchange %q routing key %q, headers %q %q; want rtin, %s",
				m.Payload, m.Headers[stream.HeaderRetryAttempts], m.Received.Exchange, m.Received.RoutingKey,
				m.Headers["amqp_receivedExchange"], m.Headers["amqp_receivedRoutingKey"], rk)
		}
		for k := range m.Headers {
			if strings.HasPrefix(k, "x-streambind-received-") {
				t.Errorf("%s: the handler got the binder's header %s", m.Payload, k)
			}
		}
	}
	for _, p := range []string{"ok", "dead"} {
		if err := ch.PublishWithContext(ctx, "rtin", "orders."+p, false, false, amqp.Publishing{Body: []byte(p), ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
		check(next(), "orders."+p) // first delivery: fails
		check(next(), "orders."+p) // back from the wait queue
	}
	d := getOne(ctx, t, ch, "rtin.g.dlq")
	if ex, rk := d.Headers[stream.HeaderOriginalExchange], d.Headers[stream.HeaderOriginalRoutingKey]; ex != "rtin" || rk != "orders.dead" {
		t.Errorf("dead letter after its retry: x-original-exchange %v, x-original-routingKey %v; want rtin, orders.dead", ex, rk)
	}
}
