package rabbit

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestWaitQueuesFollowDurableSubscription: the wait queues of
// consumer.retry-delays are declared with the durability of the group's
// queue they dead-letter into: durable by default, non-durable with
// durable-subscription: false, whose group queue is non-durable (and
// auto-delete, without a DLQ). They were durable always: a broker restart
// kept them, with their messages, after the queue they return to was gone.
// The broker accepts a declaration of an existing queue only with the
// same flags and arguments: redeclaring each wait queue as expected
// succeeds, and with the other durability fails (PRECONDITION_FAILED).
func TestWaitQueuesFollowDurableSubscription(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b := newLoggedBinder(t, vhost, &syncbuf.Buffer{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const delay = 300 * time.Millisecond
	redeclare := func(q string, durable bool) error {
		c := rabbittest.Channel(t, vhost)
		defer c.Close()
		_, err := c.QueueDeclare(RetryQueueName(q, delay), durable, false, false, false, amqp.Table{
			"x-message-ttl": delay.Milliseconds(), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q,
		})
		return err
	}
	for _, tc := range []struct {
		name    string
		ext     map[string]any
		durable bool
	}{
		{"durable", nil, true},
		{"transient", map[string]any{"durable-subscription": false}, false},
	} {
		dest := "wq." + tc.name
		c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: tc.name + "-in-0", Destination: dest, Group: "g",
			Consumer: stream.ConsumerConfig{MaxAttempts: 2, RetryDelays: []time.Duration{delay}}, Extension: tc.ext,
			Handler: func(context.Context, stream.Envelope) error { return nil }})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		q := dest + ".g"
		if err := redeclare(q, tc.durable); err != nil {
			t.Errorf("%s: wait queue %s is not declared with durable=%v: %v", tc.name, RetryQueueName(q, delay), tc.durable, err)
		}
		if err := redeclare(q, !tc.durable); err == nil {
			t.Errorf("%s: wait queue %s redeclared with durable=%v: the broker took it, so it was not declared", tc.name, RetryQueueName(q, delay), !tc.durable)
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
