package rabbit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// wireFull is a message with every AMQP property amqp091-go sends set,
// user_id the test connection's user (the broker refuses another's).
func wireFull(body string, ts time.Time) amqp.Publishing {
	return amqp.Publishing{Body: []byte(body), ContentType: "application/json", ContentEncoding: "br",
		DeliveryMode: amqp.Transient, Priority: 5, CorrelationId: "corr-1", ReplyTo: "replies",
		Expiration: "600000", MessageId: "m-1", Timestamp: ts, Type: "order.created", UserId: "guest",
		AppId: "billing", Headers: amqp.Table{"own": "x"}}
}

// consumeDLQ reads n messages from queue q with a raw amqp091 consumer
// (as a Java or other client of the DLQ reads them), keyed by body.
func consumeDLQ(ctx context.Context, t *testing.T, ch *amqp.Channel, q string, n int) map[string]amqp.Delivery {
	t.Helper()
	ds, err := ch.ConsumeWithContext(ctx, q, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]amqp.Delivery, n)
	for len(got) < n {
		select {
		case d, ok := <-ds:
			if !ok {
				t.Fatalf("%s: the consumer ended after %d of %d dead letters", q, len(got), n)
			}
			got[string(d.Body)] = d
		case <-ctx.Done():
			t.Fatalf("%s: %d of %d dead letters", q, len(got), n)
		}
	}
	return got
}

// checkKept reports the properties of dead letter d that are not
// wireFull's, but those the caller checks itself (delivery_mode,
// user_id, expiration).
func checkKept(t *testing.T, d amqp.Delivery, ts time.Time) {
	t.Helper()
	if d.ContentType != "application/json" || d.ContentEncoding != "br" || d.Priority != 5 || d.CorrelationId != "corr-1" ||
		d.ReplyTo != "replies" || d.MessageId != "m-1" || !d.Timestamp.Equal(ts) || d.Type != "order.created" ||
		d.AppId != "billing" || d.Headers["own"] != "x" {
		t.Errorf("%s: content_type %q content_encoding %q priority %d correlation_id %q reply_to %q message_id %q timestamp %v type %q app_id %q header own %v",
			d.Body, d.ContentType, d.ContentEncoding, d.Priority, d.CorrelationId, d.ReplyTo, d.MessageId, d.Timestamp, d.Type, d.AppId, d.Headers["own"])
	}
}

// TestDeadLetterWireProperties: a dead letter the binder republishes
// (republish-to-dlq, the default), read from the DLQ by a raw client, has
// the AMQP properties SCSt's RabbitMQ binder gives it (its
// getErrorMessageHandler republishes the raw Message, whose
// MessageProperties Spring AMQP's DefaultMessagePropertiesConverter read):
// content_type, content_encoding, priority, correlation_id, reply_to,
// message_id, timestamp, type and app_id as received; delivery_mode
// republish-delivery-mode's (PERSISTENT) whatever the original's; no
// user_id (read as receivedUserId); no correlation_id when it is only
// whitespace (read only when StringUtils.hasText). The one departure:
// no expiration, which SCSt's keeps (the dead letter would expire from
// the DLQ unseen), its value in x-streambind-original-expiration. Without
// the fix the whitespace correlation_id went on and the expiration was
// lost.
func TestDeadLetterWireProperties(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "wireprops")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "wp-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Handler:  func(context.Context, stream.Envelope) error { return errors.New("refused") }})
	defer c.Stop(context.Background())
	ch := rabbittest.Channel(t, vhost)
	ts := time.Unix(1_700_000_000, 0)
	blank := amqp.Publishing{Body: []byte("blank"), CorrelationId: " \t\u2028"}
	for _, m := range []amqp.Publishing{wireFull("full", ts), blank, {Body: []byte("bare")}} {
		if err := ch.PublishWithContext(ctx, dest, "", false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	got := consumeDLQ(ctx, t, ch, dest+".g.dlq", 3)

	full := got["full"]
	checkKept(t, full, ts)
	if full.DeliveryMode != amqp.Persistent || full.UserId != "" {
		t.Errorf("full: delivery_mode %d (want republish-delivery-mode's %d), user_id %q (SCSt's has none)", full.DeliveryMode, amqp.Persistent, full.UserId)
	}
	if full.Expiration != "" || full.Headers[headerOriginalExpiration] != "600000" {
		t.Errorf("full: expiration %q, header %s = %v; want no expiration, the original's 600000 in the header",
			full.Expiration, headerOriginalExpiration, full.Headers[headerOriginalExpiration])
	}
	if d := got["blank"]; d.CorrelationId != "" {
		t.Errorf("blank: correlation_id %q; SCSt's dead letter has none for one that is only whitespace", d.CorrelationId)
	}
	bare := got["bare"]
	if _, ok := bare.Headers[headerOriginalExpiration]; ok || bare.Expiration != "" || bare.CorrelationId != "" || bare.MessageId != "" || bare.ContentType != "" {
		t.Errorf("bare: expiration %q header %v correlation_id %q message_id %q content_type %q; want none",
			bare.Expiration, bare.Headers[headerOriginalExpiration], bare.CorrelationId, bare.MessageId, bare.ContentType)
	}
}

// TestDeadLetterWirePropertiesBrokerDLX: with republish-to-dlq: false the
// broker dead-letters the rejected message (SCSt's binder rejects it the
// same way), so the dead letter is the same as SCSt's: every property as
// received (delivery_mode and user_id included) but expiration, which the
// broker removes and keeps in x-death's original-expiration; no header of
// the binder's.
func TestDeadLetterWirePropertiesBrokerDLX(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "wirepropsdlx")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "wd-in-0", Destination: dest, Group: "g",
		Consumer:  stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Extension: map[string]any{"republish-to-dlq": false},
		Handler:   func(context.Context, stream.Envelope) error { return errors.New("refused") }})
	defer c.Stop(context.Background())
	ch := rabbittest.Channel(t, vhost)
	ts := time.Unix(1_700_000_000, 0)
	if err := ch.PublishWithContext(ctx, dest, "", false, false, wireFull("full", ts)); err != nil {
		t.Fatal(err)
	}
	d := consumeDLQ(ctx, t, ch, dest+".g.dlq", 1)["full"]
	checkKept(t, d, ts)
	if d.DeliveryMode != amqp.Transient || d.UserId != "guest" || d.Expiration != "" {
		t.Errorf("delivery_mode %d user_id %q expiration %q; want the original's %d and guest, no expiration",
			d.DeliveryMode, d.UserId, d.Expiration, amqp.Transient)
	}
	var orig any
	if xs, ok := d.Headers["x-death"].([]any); ok && len(xs) > 0 {
		if x, ok := xs[0].(amqp.Table); ok {
			orig = x["original-expiration"]
		}
	}
	if orig != "600000" {
		t.Errorf("x-death original-expiration %v, want 600000 (headers %v)", orig, d.Headers)
	}
	if _, ok := d.Headers[headerOriginalExpiration]; ok {
		t.Errorf("header %s on a dead letter the broker made", headerOriginalExpiration)
	}
}

// TestDeadLetterOriginalExpirationNotInherited: a producer's publish drops
// an x-streambind-original-expiration header its message came with (the
// output of a dead-letters-of reader inherits its input's), as it drops
// x-streambind-dead-lettered-at: it is the dead-lettering's to write, and
// would pass for the expiration of a message it was not made of.
func TestDeadLetterOriginalExpirationNotInherited(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "origexp")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "oe-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ch := rabbittest.Channel(t, vhost)
	raw := dest + ".raw"
	if _, err := ch.QueueDeclare(raw, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(raw, "#", dest, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("out"), Headers: stream.Headers{headerOriginalExpiration: "600000", "own": "x"}}); err != nil {
		t.Fatal(err)
	}
	d := consumeDLQ(ctx, t, ch, raw, 1)["out"]
	if _, ok := d.Headers[headerOriginalExpiration]; ok || d.Headers["own"] != "x" || d.Expiration != "" {
		t.Errorf("sent with headers %v expiration %q; want own only", d.Headers, d.Expiration)
	}
}

// TestDeadLetterOriginalExpirationThroughRetryDelays: a message with an
// expiration that is retried through a retry-delays wait queue (whose copy
// has no expiration) and then fails for good has a dead letter that keeps
// the original's expiration in x-streambind-original-expiration, as one
// dead-lettered at once does. Without the fix the copy did not carry it,
// and the dead letter made of the copy had no trace of it.
func TestDeadLetterOriginalExpirationThroughRetryDelays(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "origexpretry")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const wait = 200 * time.Millisecond
	var calls atomic.Int32
	c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "or-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, RetryDelays: []time.Duration{wait}},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if calls.Add(1) == 1 {
				return &stream.DelayedRetry{Err: errors.New("later"), Delay: wait, Headers: m.Headers}
			}
			return errors.New("refused")
		}})
	defer c.Stop(context.Background())
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte("ttl"), Expiration: "600000"}); err != nil {
		t.Fatal(err)
	}
	d := consumeDLQ(ctx, t, ch, dest+".g.dlq", 1)["ttl"]
	if n := calls.Load(); n != 2 {
		t.Errorf("handled %d times, want 2 (once, then again after the wait)", n)
	}
	if d.Expiration != "" || d.Headers[headerOriginalExpiration] != "600000" {
		t.Errorf("expiration %q, header %s = %v; want none, and 600000", d.Expiration, headerOriginalExpiration, d.Headers[headerOriginalExpiration])
	}
}
