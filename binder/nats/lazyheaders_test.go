package nats_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestLazyHeaders: a consumer bound with ConsumerSpec.LazyHeaders gets
// envelopes without a headers map whose headers read, through Header and
// LoadHeaders, as a consumer bound without it gets them in the map (the
// Nats-* headers and the key header left out, an encoded value decoded,
// the key in Key); a message it fails is dead-lettered with every header.
func TestLazyHeaders(t *testing.T) {
	b, _ := shared(t, nil) // its streams are deleted at the end
	dest := unique(t, "lazy")
	eager, dead := newEnvelopes(), newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "eager", Handler: eager.handler})
	startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "lazy"), Group: "dlq-reader", Handler: dead.handler})
	got := make(chan stream.Envelope, 4)
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "lazy", LazyHeaders: true,
		Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			got <- m
			if m.Header(idHeader) == "poison" {
				return stream.Permanent(errors.New("refused"))
			}
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ids := []string{"ok", "poison"}
	for _, id := range ids {
		m := msg(id)
		m.Headers["x-app"] = "shop"
		m.Headers["x-note"] = "two\nlines é" // sent encoded: a NATS header value has no newline
		m.Key = []byte("key-" + id)
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatalf("Send(%s): %v", id, err)
		}
	}
	eager.tr.wait(t, ids, 30*time.Second)
	for range ids {
		var m stream.Envelope
		select {
		case m = <-got:
		case <-time.After(30 * time.Second):
			t.Fatal("the lazy consumer got too few messages")
		}
		id := m.Header(idHeader)
		want := eager.get(id)
		if m.Headers != nil {
			t.Errorf("%s: Headers = %v, want none in a map (lazy)", id, m.Headers)
		}
		if want.Headers["x-note"] != "two\nlines é" {
			t.Fatalf("%s: the eager consumer's x-note = %q: the test sends no encoded value", id, want.Headers["x-note"])
		}
		for k, v := range want.Headers {
			if g := m.Header(k); g != v {
				t.Errorf("%s: Header(%q) = %q, want %q", id, k, g, v)
			}
		}
		for _, k := range []string{"Nats-Msg-Id", "Nats-Expected-Stream", "x-streambind-key", "x-absent"} {
			if g := m.Header(k); g != "" {
				t.Errorf("%s: Header(%q) = %q, want none", id, k, g)
			}
		}
		if string(m.Key) != "key-"+id || string(m.Key) != string(want.Key) {
			t.Errorf("%s: Key = %q, the eager consumer's %q", id, m.Key, want.Key)
		}
		if all := m.LoadHeaders(); !maps.Equal(all, want.Headers) {
			t.Errorf("%s: LoadHeaders() = %v, want %v", id, all, want.Headers)
		}
	}
	dead.tr.wait(t, []string{"poison"}, 30*time.Second)
	dl := dead.get("poison").Headers
	if dl["x-app"] != "shop" || dl["x-note"] != "two\nlines é" || dl[stream.HeaderExceptionMessage] == "" {
		t.Errorf("dead letter headers %v: want the original's x-app and x-note beside the exception", dl)
	}
}
