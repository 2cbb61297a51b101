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

// TestDeadLetterKeepsOriginal: a dead letter the binder republishes
// (republish-to-dlq, the default) is the received message again, as
// SCSt's RabbitMQ binder republishes the raw AMQP message (its
// MessageProperties as received) with the x-exception-* and x-original-*
// headers added and delivery_mode from republish-delivery-mode: it keeps
// the original's message_id, timestamp and content_type (none where it
// had none: no generated message_id, no binding default content type),
// gets no id or contentType header the original did not have, and an
// scst_partition header that was a string (an older streambind's) stays
// a string. Its dead-lettering time travels in
// x-streambind-dead-lettered-at, which the DeadLetterStore reads as the
// dead letter's Time (dlq ls, --since/--until) and drops. Before the fix
// the dead letter had a generated message_id, the time of the
// republish as timestamp, the binding's content type, id and
// contentType headers, and scst_partition as an int.
func TestDeadLetterKeepsOriginal(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "keeporig")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := stream.ConsumerSpec{Binding: "ko-in-0", Destination: dest, Group: "g", ContentType: "application/json",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}}
	cs := spec
	cs.Handler = func(context.Context, stream.Envelope) error { return errors.New("refused") }
	c, err := tr.BindConsumer(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	start := time.Now().Add(-time.Second)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ch := rabbittest.Channel(t, vhost)
	ts := time.Unix(1700000000, 0)
	sent := map[string]amqp.Publishing{
		// A Java producer's, or an older streambind's partitioned one.
		"bare": {Headers: amqp.Table{"scst_partition": "2", "foo": "bar"}},
		"full": {MessageId: "m-1", ContentType: "text/plain", Timestamp: ts, DeliveryMode: amqp.Transient,
			Headers: amqp.Table{"scst_partition": int32(1)}},
		"quoted": {Headers: amqp.Table{"contentType": `"application/json"`, "id": "own-id"}},
	}
	for body, m := range sent {
		m.Body = []byte(body)
		if err := ch.PublishWithContext(ctx, dest, "", false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	q := dest + ".g.dlq"
	awaitReady(t, func() int {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages
	}, len(sent), 10*time.Second, "dead letters in "+q)

	// Read as streambind dlq ls/show read them: the time of the
	// dead-lettering, not the original's timestamp; the header dropped.
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	for range len(sent) {
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.Time.Before(start) || d.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("dead letter %s: time %v, want when it was dead-lettered (after %v)", d.Payload, d.Time, start)
		}
		if v, ok := d.Headers[headerDeadLetteredAt]; ok {
			t.Errorf("dead letter %s read with header %s = %q", d.Payload, headerDeadLetteredAt, v)
		}
		if _, ok := d.NativeHeaders[headerDeadLetteredAt]; ok {
			t.Errorf("dead letter %s read with native header %s", d.Payload, headerDeadLetteredAt)
		}
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}

	for range len(sent) {
		d := getOne(ctx, t, ch, q)
		body := string(d.Body)
		want, ok := sent[body]
		if !ok {
			t.Fatalf("unexpected dead letter %q", body)
		}
		delete(sent, body)
		if d.MessageId != want.MessageId || d.ContentType != want.ContentType || !d.Timestamp.Equal(want.Timestamp) {
			t.Errorf("%s: message_id %q content_type %q timestamp %v; want the original's %q %q %v",
				body, d.MessageId, d.ContentType, d.Timestamp, want.MessageId, want.ContentType, want.Timestamp)
		}
		if d.DeliveryMode != amqp.Persistent {
			t.Errorf("%s: delivery_mode %d, want 2 (republish-delivery-mode's default, PERSISTENT)", body, d.DeliveryMode)
		}
		for _, k := range []string{stream.HeaderID, stream.HeaderContentType, "scst_partition", "foo"} {
			got, has := d.Headers[k]
			orig, had := want.Headers[k]
			if has != had || got != orig {
				t.Errorf("%s: header %s = %#v (%T, present %v), want %#v (%T, present %v) as received", body, k, got, got, has, orig, orig, had)
			}
		}
		if d.Headers[stream.HeaderExceptionMessage] != "refused" || d.Headers[stream.HeaderOriginalExchange] != dest {
			t.Errorf("%s: x-exception-message %#v x-original-exchange %#v", body, d.Headers[stream.HeaderExceptionMessage], d.Headers[stream.HeaderOriginalExchange])
		}
		if _, ok := d.Headers[headerDeadLetteredAt].(string); !ok {
			t.Errorf("%s: header %s = %#v, want the time of the dead-lettering", body, headerDeadLetteredAt, d.Headers[headerDeadLetteredAt])
		}
	}
}
