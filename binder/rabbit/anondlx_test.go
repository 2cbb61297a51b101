package rabbit

import (
	"context"
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestAnonymousQueueDeadLetterArguments: with dlq (SCSt's auto-bind-dlq)
// an anonymous consumer's queue has SCSt's x-dead-letter-exchange (the
// DLX) and x-dead-letter-routing-key (dead-letter-routing-key, else the
// queue's own name) arguments, as SCSt's provisioner declares its
// AnonymousQueue with the same queue arguments as a group's queue; no DLQ
// is declared for it, as in SCSt. So a failed message the broker
// dead-letters reaches a queue bound to the DLX with that key: here one
// bound with dead-letter-routing-key. Before, the anonymous queue had no
// such argument and the broker dropped the message. The queue is still
// exclusive, auto-delete and not durable, as SCSt's AnonymousQueue.
func TestAnonymousQueueDeadLetterArguments(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "anondlx")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := rabbittest.Channel(t, vhost)
	if err := admin.ExchangeDeclare("DLX", "direct", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.QueueDeclare("anon-dead", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueueBind("anon-dead", "anon-dl", "DLX", false, nil); err != nil {
		t.Fatal(err)
	}
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "an-in-0", Destination: dest,
		Consumer:  stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Extension: map[string]any{"dead-letter-routing-key": "anon-dl", "republish-to-dlq": false},
		Handler:   func(context.Context, stream.Envelope) error { return errors.New("refused") }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	q := *c.(*consumer).running.Load()
	// Exclusive: another connection may not even look at it.
	if _, err := rabbittest.Channel(t, vhost).QueueDeclarePassive(q, false, true, true, false, nil); err == nil {
		t.Errorf("queue %s declared passively from another connection: not exclusive", q)
	}
	publish(ctx, t, rabbittest.Channel(t, vhost), dest, "", "failing")
	d := getOne(ctx, t, admin, "anon-dead")
	if string(d.Body) != "failing" {
		t.Errorf("dead-lettered %q", d.Body)
	}
	if xs, _ := d.Headers["x-death"].([]any); len(xs) == 0 {
		t.Errorf("no x-death: %v", d.Headers)
	} else if x, _ := xs[0].(amqp.Table); x["queue"] != q || x["reason"] != "rejected" {
		t.Errorf("x-death[0] %v, want queue %s, reason rejected", xs[0], q)
	}
}
