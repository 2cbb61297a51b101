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

// TestDeadLetterKeepsProperties: a dead letter the binder republishes, and
// a retry's copy in its wait queue, keep the original's AMQP properties
// that an envelope does not carry, as SCSt's republished dead letter (and
// the broker's dead-lettering) keeps them: above all content_encoding,
// without which a compressed body cannot be read, and correlation_id and
// reply_to. Without the fix both had none of them (and the copy no
// timestamp).
func TestDeadLetterKeepsProperties(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "props")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const wait = 1000 * time.Second // the copy stays in the wait queue
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "pr-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, RetryDelays: []time.Duration{wait}},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if string(m.Payload) == "retry" {
				return &stream.DelayedRetry{Err: errors.New("later"), Delay: wait, Headers: m.Headers}
			}
			return errors.New("refused")
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ch := rabbittest.Channel(t, vhost)
	ts := time.Unix(1700000000, 0)
	for _, body := range []string{"dead", "retry"} {
		if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte(body), ContentType: "application/json",
			ContentEncoding: "gzip", CorrelationId: "corr-1", ReplyTo: "replies", Type: "order.created", AppId: "billing", Priority: 3, Timestamp: ts}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{dest + ".g.dlq", RetryQueueName(dest+".g", wait)} {
		d := getOne(ctx, t, ch, q)
		if d.ContentEncoding != "gzip" || d.CorrelationId != "corr-1" || d.ReplyTo != "replies" || d.Type != "order.created" || d.AppId != "billing" || d.Priority != 3 {
			t.Errorf("%s: %s: content_encoding %q correlation_id %q reply_to %q type %q app_id %q priority %d", q, d.Body, d.ContentEncoding, d.CorrelationId, d.ReplyTo, d.Type, d.AppId, d.Priority)
		}
		if q != dest+".g.dlq" && !d.Timestamp.Equal(ts) {
			t.Errorf("%s: timestamp %v, want the original's %v", q, d.Timestamp, ts)
		}
	}
}
