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

// TestDeadLetterOfRetryWithoutWaitQueueXDeath: the dead letter of a
// retried delivery (retry-delays) whose x-death has only the wait queue's
// entry (the message was dead-lettered by the broker nowhere else) has
// no x-death: its array without the wait queues' entries is empty. Before,
// the header went as text, the Go rendering of the very entries it was to
// leave out ("[map[count:1 ... queue:<queue>.retry.50 ...]]"), a string
// where a Java reader of the DLQ expects x-death's list
// (MessageProperties.getXDeathHeader).
func TestDeadLetterOfRetryWithoutWaitQueueXDeath(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const delay = 50 * time.Millisecond
	dest := uniqueDest(t, "xdwait")
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "xw-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, RetryDelays: []time.Duration{delay}},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers["x-streambind-retry-delivery"] == "" {
				return &stream.DelayedRetry{Err: errors.New("later"), Delay: delay, Headers: m.Headers.Clone()}
			}
			return errors.New("poison")
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: amqp.Table{"n": int32(1)}, Body: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	d := getOne(ctx, t, ch, dest+".g.dlq")
	if d.Headers[stream.HeaderExceptionMessage] != "poison" {
		t.Fatalf("dead letter of the first delivery, not the retry: x-exception-message %v", d.Headers[stream.HeaderExceptionMessage])
	}
	if v, ok := d.Headers["x-death"]; ok {
		t.Errorf("dead letter x-death = %#v (%T), want none (the wait queue's entry left out)", v, v)
	}
	if d.Headers["n"] != int32(1) {
		t.Errorf("dead letter header n = %#v (%T), want int32 1 as received", d.Headers["n"], d.Headers["n"])
	}
}
