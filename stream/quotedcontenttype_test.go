package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestQuotedContentTypeDecodes: a contentType header whose value is a
// JSON string ("\"application/json\"": a Java producer's MimeType header
// bridged as text, or one set by hand) picks application/json's
// converter on every binder (stream.NormalizeContentType), as the Kafka
// binder's typed-header decoding already did; it failed with "no
// converter registered for this content type".
func TestQuotedContentTypeDecodes(t *testing.T) {
	for in, want := range map[string]string{
		`"application/json"`:                `application/json`,
		`"application/json; charset=utf-8"`: `application/json; charset=utf-8`,
		`"a\"b"`:                            `a"b`,
		`application/json`:                  `application/json`,
		`"`:                                 `"`,
		`""`:                                ``,
	} {
		if got := stream.NormalizeContentType(in); got != want {
			t.Errorf("NormalizeContentType(%q) = %q, want %q", in, got, want)
		}
	}
	for hdr, want := range map[string]string{`""`: "text/plain", ``: "text/plain", `"application/json"`: "application/json"} {
		e := stream.Envelope{Headers: stream.Headers{stream.HeaderContentType: hdr}}
		if got := e.ContentType("text/plain"); got != want {
			t.Errorf("Envelope with contentType %q: ContentType(text/plain) = %q, want %q", hdr, got, want)
		}
	}
	broker := newBroker(t)
	got := make(chan Order, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, o Order) error { got <- o; return nil })
	cfg := &stream.Config{
		OutputBindings: "in",
		Function:       stream.FunctionConfig{Definition: "work"},
		Bindings: map[string]stream.BindingConfig{
			"in":        {Destination: "a"},
			"work-in-0": {Destination: "a", Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{MaxAttempts: 1}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(),
		stream.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	m := stream.NewMessage([]byte(`{"orderId":"42"}`), stream.HeaderContentType, `"application/json"`)
	if err := r.app.Bridge().Send(context.Background(), "in", m); err != nil {
		t.Fatal(err)
	}
	if o := recv(t, got); o.OrderID != "42" {
		t.Fatalf("decoded %+v", o)
	}
}
