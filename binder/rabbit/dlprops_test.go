package rabbit

import (
	"context"
	"errors"
	"strings"
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
		// br: an encoding the binder does not decompress on receipt (a
		// gzip, deflate or zip body reaches the handler decompressed,
		// springbatch.go), so the body goes on as it came.
		if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte(body), ContentType: "application/json",
			ContentEncoding: "br", CorrelationId: "corr-1", ReplyTo: "replies", Type: "order.created", AppId: "billing", Priority: 3, Timestamp: ts,
			Expiration: "600000", Headers: amqp.Table{"amqp_own": "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{dest + ".g.dlq", RetryQueueName(dest+".g", wait)} {
		d := getOne(ctx, t, ch, q)
		if d.ContentEncoding != "br" || d.CorrelationId != "corr-1" || d.ReplyTo != "replies" || d.Type != "order.created" || d.AppId != "billing" || d.Priority != 3 {
			t.Errorf("%s: %s: content_encoding %q correlation_id %q reply_to %q type %q app_id %q priority %d", q, d.Body, d.ContentEncoding, d.CorrelationId, d.ReplyTo, d.Type, d.AppId, d.Priority)
		}
		// The handler saw the properties as headers too (amqp_type ...,
		// priority): the copies are the message again, without them, and
		// without its expiration (the broker drops it when it dead-letters
		// a message too), its own amqp_own header kept.
		for k, v := range d.Headers {
			if (strings.HasPrefix(k, "amqp_") && k != "amqp_own") || k == "priority" {
				t.Errorf("%s: %s: header %s = %v", q, d.Body, k, v)
			}
		}
		if d.Headers["amqp_own"] != "x" || d.Expiration != "" {
			t.Errorf("%s: %s: header amqp_own = %v, expiration %q", q, d.Body, d.Headers["amqp_own"], d.Expiration)
		}
		if q != dest+".g.dlq" && !d.Timestamp.Equal(ts) {
			t.Errorf("%s: timestamp %v, want the original's %v", q, d.Timestamp, ts)
		}
	}
}

// TestReplayKeepsProperties: the replayed copy of a dead letter (read
// through OpenDeadLetters, sent as stream.ReplayEnvelope makes it, as
// streambind dlq replay does) has the dead letter's AMQP properties that
// an envelope does not carry, so a compressed body stays readable and a
// reply finds its requester; one without them gets none. Before, the
// replay sent none of them.
func TestReplayKeepsProperties(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "replayprops")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	q := dest + ".g.dlq"
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	props := amqp.Publishing{Body: []byte("with"), ContentType: "application/json",
		ContentEncoding: "gzip", CorrelationId: "corr-1", ReplyTo: "replies", Type: "order.created", AppId: "billing", Priority: 3}
	for _, m := range []amqp.Publishing{props, {Body: []byte("without")}} {
		if err := ch.PublishWithContext(ctx, "", q, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	awaitReady(t, func() int {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages
	}, 2, 10*time.Second, "ready in "+q)

	to := uniqueDest(t, "replayto")
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "rp-out-0", Destination: to})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	raw := to + ".raw"
	if _, err := ch.QueueDeclare(raw, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(raw, "#", to, false, nil); err != nil {
		t.Fatal(err)
	}
	dl, err := b.OpenDeadLetters(ctx, stream.ConsumerSpec{Binding: "rp-in-0", Destination: dest, Group: "g"}, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	for i := range 2 {
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := p.Send(ctx, stream.ReplayEnvelope(d)); err != nil {
				t.Fatal(err)
			}
		} else {
			done := make(chan error, 1)
			p.(stream.AsyncProducer).SendAsync(ctx, stream.ReplayEnvelope(d), func(err error) { done <- err })
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	got := getOne(ctx, t, ch, raw)
	if string(got.Body) != "with" || got.ContentEncoding != "gzip" || got.CorrelationId != "corr-1" || got.ReplyTo != "replies" ||
		got.Type != "order.created" || got.AppId != "billing" || got.Priority != 3 || got.ContentType != "application/json" {
		t.Errorf("replayed %s: content_encoding %q correlation_id %q reply_to %q type %q app_id %q priority %d content_type %q",
			got.Body, got.ContentEncoding, got.CorrelationId, got.ReplyTo, got.Type, got.AppId, got.Priority, got.ContentType)
	}
	for k := range got.Headers {
		if strings.Contains(k, "amqp-properties") {
			t.Errorf("the properties went as header %q", k)
		}
	}
	got = getOne(ctx, t, ch, raw)
	if string(got.Body) != "without" || got.ContentEncoding != "" || got.CorrelationId != "" || got.ReplyTo != "" || got.Type != "" || got.AppId != "" || got.Priority != 0 {
		t.Errorf("replayed %s: got properties it did not have: %+v", got.Body, got)
	}
}
