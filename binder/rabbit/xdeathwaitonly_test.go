package rabbit

import (
	"context"
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
	dest := uniqueDest(t, "xdwait")
	startRetriedOnceThenPoison(ctx, t, tr, "xw-in-0", dest, "")
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
