package rabbit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestProducerDeliveryMode: SCSt's producer delivery-mode sets each
// message's AMQP delivery mode: NON_PERSISTENT publishes transient (1),
// from the binding's properties or from rabbit.default.producer; the
// default is persistent (2). Before, NON_PERSISTENT was refused at
// start-up and every message went persistent.
func TestProducerDeliveryMode(t *testing.T) {
	t.Parallel()
	b, ch := vhostBinder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := &stream.Config{Extensions: map[string]stream.ExtensionConfig{Type: {
		Default:  stream.ExtensionBindingConfig{Producer: map[string]any{"deliveryMode": "NON_PERSISTENT"}},
		Bindings: map[string]stream.ExtensionBindingConfig{"own-out-0": {Producer: map[string]any{"delivery-mode": "PERSISTENT"}}},
	}}}
	_, fromDefault := cfg.Extension(Type, "dflt-out-0")
	_, own := cfg.Extension(Type, "own-out-0")
	for _, tc := range []struct {
		binding string
		ext     map[string]any
		want    uint8
	}{
		{"plain-out-0", nil, amqp.Persistent},
		{"transient-out-0", map[string]any{"delivery-mode": "non-persistent"}, amqp.Transient},
		{"dflt-out-0", fromDefault, amqp.Transient},
		{"own-out-0", own, amqp.Persistent},
	} {
		dest := "dm." + tc.binding
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: tc.binding, Destination: dest, Extension: tc.ext,
			Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
		if err != nil {
			t.Fatalf("%s: %v", tc.binding, err)
		}
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
			t.Fatalf("%s: send: %v", tc.binding, err)
		}
		if d := getOne(ctx, t, ch, dest+".g"); d.DeliveryMode != tc.want {
			t.Errorf("%s: delivery mode %d, want %d", tc.binding, d.DeliveryMode, tc.want)
		}
		_ = p.Close(ctx)
	}
	if _, err := parseProducerOptions("p-out-0", map[string]any{"delivery-mode": "sometimes"}); err == nil ||
		!strings.Contains(err.Error(), `want PERSISTENT or NON_PERSISTENT, got "sometimes"`) {
		t.Errorf("unknown delivery-mode: %v", err)
	}
}

// TestRepublishDeliveryMode: SCSt's consumer republish-delivery-mode sets
// the AMQP delivery mode of the dead letters the binder republishes
// (republish-to-dlq): NON_PERSISTENT gives transient (1) dead letters
// whatever the failed message's mode; the default is persistent (2).
// Before, NON_PERSISTENT was refused at start-up.
func TestRepublishDeliveryMode(t *testing.T) {
	t.Parallel()
	b, ch := vhostBinder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	failing := func(context.Context, stream.Envelope) error { return errors.New("refused") }
	for _, tc := range []struct {
		name string
		ext  map[string]any
		want uint8
	}{
		{"plain", nil, amqp.Persistent},
		{"transient", map[string]any{"republishDeliveryMode": "NON_PERSISTENT"}, amqp.Transient},
	} {
		dest := "rdm." + tc.name
		c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: tc.name + "-in-0", Destination: dest, Group: "g",
			Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}, Extension: tc.ext, Handler: failing})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := ch.PublishWithContext(ctx, dest, "k", false, false, amqp.Publishing{Body: []byte("x"), DeliveryMode: amqp.Persistent}); err != nil {
			t.Fatal(err)
		}
		d := getOne(ctx, t, ch, dest+".g.dlq")
		if _, ok := d.Headers["x-exception-message"]; !ok {
			t.Errorf("%s: not a dead letter republished by the binder: %v", tc.name, d.Headers)
		}
		if d.DeliveryMode != tc.want {
			t.Errorf("%s: dead letter's delivery mode %d, want %d", tc.name, d.DeliveryMode, tc.want)
		}
		_ = c.Stop(ctx)
	}
}

// TestDurableSubscriptionFalse: SCSt's consumer durable-subscription:
// false declares the group's queue non-durable and auto-delete (Spring
// AMQP's new Queue(name, false, false, true, args)), with the
// x-dead-letter-* arguments of dlq but no DLQ (nor the DLX): SCSt's
// provisioner binds a DLQ for durable subscriptions only. Its failed
// messages go to the DLX as an anonymous consumer's do. The default keeps
// the queue durable with its DLQ. Before, false was refused at start-up.
func TestDurableSubscriptionFalse(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	logs := &syncbuf.Buffer{}
	b := newLoggedBinder(t, vhost, logs)
	ch := rabbittest.Channel(t, vhost)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	failing := func(context.Context, stream.Envelope) error { return errors.New("refused") }
	bind := func(name string, ext map[string]any) (stream.Consumer, string) {
		t.Helper()
		dest := "ds." + name
		c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: name + "-in-0", Destination: dest, Group: "g",
			Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}, Extension: ext, Handler: failing})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return c, dest + ".g"
	}
	// redeclare declares q as given on a channel of its own: the broker
	// accepts it only when q exists with the same flags and arguments
	// (PRECONDITION_FAILED otherwise).
	redeclare := func(q string, durable, autoDelete bool) error {
		c := rabbittest.Channel(t, vhost)
		defer c.Close()
		var err error
		_, err = c.QueueDeclare(q, durable, autoDelete, false, false, amqp.Table{
			"x-dead-letter-exchange": DLXName, "x-dead-letter-routing-key": q,
		})
		return err
	}
	passive := func(q string) error {
		c := rabbittest.Channel(t, vhost)
		defer c.Close()
		var err error
		_, err = c.QueueDeclarePassive(q, false, false, false, false, nil)
		return err
	}

	durableC, durableQ := bind("durable", map[string]any{"durable-subscription": true})
	defer durableC.Stop(context.Background())
	if err := redeclare(durableQ, true, false); err != nil {
		t.Errorf("default: queue %s is not durable (without auto-delete): %v", durableQ, err)
	}
	if err := passive(durableQ + ".dlq"); err != nil {
		t.Errorf("default: no DLQ: %v", err)
	}

	c, q := bind("transient", map[string]any{"durableSubscription": "false"})
	if err := redeclare(q, false, true); err != nil {
		t.Errorf("durable-subscription false: queue %s is not non-durable and auto-delete with the x-dead-letter-* arguments: %v", q, err)
	}
	if err := passive(q + ".dlq"); err == nil {
		t.Errorf("durable-subscription false: DLQ %s.dlq declared; SCSt's provisioner declares none", q)
	}
	if got := c.(stream.BindingDescriber).DescribeBinding(); got["dlq"] != "" {
		t.Errorf("durable-subscription false: describes a DLQ: %v", got)
	}
	if n := strings.Count(logs.String(), "consumer.dlq with durable-subscription false"); n != 1 {
		t.Errorf("want one WARN at bind that no DLQ is declared, got %d; logs:\n%.3000s", n, logs.String())
	}
	// Its failed message goes to the DLX with the queue's name as key:
	// a queue bound so (here the test's own) receives it.
	if _, err := ch.QueueDeclare("ds.catch", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("ds.catch", q, DLXName, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(ctx, "ds.transient", "k", false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if d := getOne(ctx, t, ch, "ds.catch"); string(d.Body) != "x" {
		t.Errorf("dead letter %q", d.Body)
	}
	// Auto-delete: the queue goes with its last consumer.
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for passive(q) == nil {
		select {
		case <-ctx.Done():
			t.Fatalf("durable-subscription false: queue %s still there after its consumer stopped (not auto-delete)", q)
		case <-tick.C:
		}
	}
}
