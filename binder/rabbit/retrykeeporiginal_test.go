package rabbit

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterAfterRetryKeepsOriginal: a message parked in a
// retry-delays wait queue and dead-lettered when it fails again is the
// received message in its dead letter too, as one dead-lettered at its
// first delivery is (TestDeadLetterKeepsOriginal): no content_type,
// contentType or id header where it came without them (as amqp-publish,
// or a Java client, sends it), a quoted contentType header as it came.
// Before, the wait queue's copy was made with the binding's content type
// (content_type and a contentType header) and the contentType header
// normalised, and its dead letter kept those as received.
func TestDeadLetterAfterRetryKeepsOriginal(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "retryorig")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	startRetriedOnceThenPoison(ctx, t, tr, "ro-in-0", dest, "application/json")
	ch := rabbittest.Channel(t, vhost)
	ts := time.Unix(1700000000, 0)
	sent := map[string]amqp.Publishing{
		"bare":   {},
		"full":   {MessageId: "m-1", ContentType: "text/plain", Timestamp: ts},
		"quoted": {Headers: amqp.Table{"contentType": `"application/json"`}},
	}
	for body, m := range sent {
		m.Body = []byte(body)
		if err := ch.PublishWithContext(ctx, dest, "", false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	for range len(sent) {
		d := getOne(ctx, t, ch, dest+".g.dlq")
		body := string(d.Body)
		want, ok := sent[body]
		if !ok {
			t.Fatalf("unexpected dead letter %q", body)
		}
		delete(sent, body)
		if d.Headers[stream.HeaderExceptionMessage] != "poison" {
			t.Fatalf("%s: dead letter of the first delivery, not the retry: x-exception-message %v", body, d.Headers[stream.HeaderExceptionMessage])
		}
		if d.MessageId != want.MessageId || d.ContentType != want.ContentType || !d.Timestamp.Equal(want.Timestamp) {
			t.Errorf("%s: message_id %q content_type %q timestamp %v; want the original's %q %q %v",
				body, d.MessageId, d.ContentType, d.Timestamp, want.MessageId, want.ContentType, want.Timestamp)
		}
		for _, k := range []string{stream.HeaderID, stream.HeaderContentType} {
			got, has := d.Headers[k]
			orig, had := want.Headers[k]
			if has != had || got != orig {
				t.Errorf("%s: header %s = %#v (present %v), want %#v (present %v) as received", body, k, got, has, orig, had)
			}
		}
	}
}
