package rabbit

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestQuotedContentTypeProperty: a contentType header that is a JSON
// string ("\"application/json\"", as a Java Kafka producer's header
// bridged as text, or amqp-publish -H 'contentType: "application/json"')
// reads as application/json (stream.NormalizeContentType, shared by every
// binder), and a message made from it, a dead letter's above all
// (toPublishing), carries the content_type property and the header
// without the quotes.
func TestQuotedContentTypeProperty(t *testing.T) {
	env := stream.Envelope{Payload: []byte(`{"orderId":"42"}`), Headers: stream.Headers{stream.HeaderContentType: `"application/json"`}}
	if got := env.ContentType("text/plain"); got != "application/json" {
		t.Fatalf("content type read as %q", got)
	}
	msg := toPublishing(env, "text/plain")
	if msg.ContentType != "application/json" || msg.Headers[stream.HeaderContentType] != "application/json" {
		t.Fatalf("content_type property %q, header %#v; want application/json without quotes", msg.ContentType, msg.Headers[stream.HeaderContentType])
	}
}
