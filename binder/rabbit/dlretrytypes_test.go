package rabbit

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterAfterRetryKeepsHeaderTypes: a message parked in a wait
// queue (retry-delays, stream.DelayedRetry) and dead-lettered when it
// fails again has the original's headers in the AMQP types they came
// with, as a dead letter of its first delivery has (SCSt copies headers
// as they are): the copy in the wait queue keeps them, so an int stays
// an int and an scst_partition that came as a string stays a string.
// Before, the copy went with every header as text (scst_partition as an
// int), and its dead letter so.
func TestDeadLetterAfterRetryKeepsHeaderTypes(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "retrytypes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	startRetriedOnceThenPoison(ctx, t, tr, "rt-in-0", dest, "")
	ch := rabbittest.Channel(t, vhost)
	sent := amqp.Table{"scst_partition": "2", "n": int32(7), "big": int64(1) << 40, "ok": true, "s": "text"}
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: sent, Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	d := getOne(ctx, t, ch, dest+".g.dlq")
	if d.Headers[stream.HeaderExceptionMessage] != "poison" {
		t.Fatalf("dead letter of the first delivery, not the retry: x-exception-message %v", d.Headers[stream.HeaderExceptionMessage])
	}
	for k, v := range sent {
		if d.Headers[k] != v {
			t.Errorf("dead letter header %s = %#v (%T), want %#v (%T) as received", k, d.Headers[k], d.Headers[k], v, v)
		}
	}
}
