package rabbit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestPrefixNamesAsSCSt: SCSt's RabbitMQ prefix (a binding's
// consumer.prefix / producer.prefix, often one per environment on a
// shared broker) was refused, so an SCSt file with it did not start. It
// names what SCSt's provisioner names: exchange <prefix><destination>,
// queue <prefix><destination>.<group>, DLQ <prefix><destination>.<group>.dlq
// on <prefix>DLX, anonymous queues <prefix><destination>.anonymous.<id>;
// messages are routed with the destination without the prefix.
func TestPrefixNamesAsSCSt(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	handled := make(chan string, 16)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "pay", func(_ context.Context, s string) error {
		handled <- s
		if s == "bad" {
			return fmt.Errorf("refused %q", s)
		}
		return nil
	})
	// SCSt's spelling, as a ported file has it.
	yaml := fmt.Sprintf(`spring:
  cloud:
    stream:
      function:
        definition: pay
      default-binder: r
      binders:
        r:
          type: rabbit
          environment:
            addresses: %q
            virtual-host: %q
      bindings:
        pay-in-0:
          destination: orders
          group: g
          content-type: text/plain
          consumer:
            max-attempts: 1
      rabbit:
        default:
          consumer:
            prefix: dev.
        bindings:
          pay-in-0:
            consumer:
              auto-bind-dlq: true
`, rabbittest.Address(), vhost)
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncbuf.Buffer)
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	stop := bindertest.RunApp(t, app)

	ch := rabbittest.Channel(t, vhost)
	for _, q := range []string{"dev.orders.g", "dev.orders.g.dlq"} {
		if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
			t.Fatalf("queue %s: %v\n%s", q, err, logs.String())
		}
	}
	for _, x := range []string{"dev.orders", "dev.DLX"} {
		if err := ch.ExchangeDeclarePassive(x, map[string]string{"dev.orders": "topic", "dev.DLX": "direct"}[x], true, false, false, false, nil); err != nil {
			t.Fatalf("exchange %s: %v", x, err)
		}
	}
	// Nothing of the unprefixed names.
	for _, check := range []func(*amqp.Channel) error{
		func(c *amqp.Channel) error {
			return c.ExchangeDeclarePassive("orders", "topic", true, false, false, false, nil)
		},
		func(c *amqp.Channel) error {
			_, err := c.QueueDeclarePassive("orders.g", true, false, false, false, nil)
			return err
		},
	} {
		if check(rabbittest.Channel(t, vhost)) == nil {
			t.Error("an unprefixed exchange or queue was declared")
		}
	}
	// An observer of the exchange sees the routing key.
	obs, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(obs.Name, "#", "dev.orders", false, nil); err != nil {
		t.Fatal(err)
	}
	seen, err := ch.Consume(obs.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	// A producer of the same prefix, with a required group, and an
	// anonymous consumer.
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "o-out-0", Destination: "orders", ContentType: "text/plain",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"audit"}}, Extension: map[string]any{"prefix": "dev."}})
	if err != nil {
		t.Fatal(err)
	}
	anon := make(chan string, 4)
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "a-in-0", Destination: "orders", ContentType: "text/plain",
		Extension: map[string]any{"prefix": "dev."},
		Handler:   func(_ context.Context, m stream.Envelope) error { anon <- string(m.Payload); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	for _, s := range []string{"good", "bad"} {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(s)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case d := <-seen:
			if d.RoutingKey != "orders" {
				t.Errorf("routing key %q, want orders (SCSt routes with the destination, prefix stripped)", d.RoutingKey)
			}
		case <-ctx.Done():
			t.Fatal("the observer got nothing")
		}
		select {
		case <-anon:
		case <-ctx.Done():
			t.Fatal("the anonymous consumer got nothing")
		}
	}
	got := map[string]bool{}
	for range 2 {
		select {
		case s := <-handled:
			got[s] = true
		case <-ctx.Done():
			t.Fatalf("handled %v", got)
		}
	}
	waitReady(t, ch, "dev.orders.g.dlq", 1)
	waitReady(t, ch, "dev.orders.audit", 2)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out := rabbittest.Ctl(t, "list_queues", "-p", vhost, "name")
	if !strings.Contains(out, "dev.orders.anonymous.") {
		t.Errorf("no anonymous queue dev.orders.anonymous.<id>:\n%s", out)
	}
}
