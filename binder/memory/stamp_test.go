package memory_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// seen is what a handler saw of a message's headers.
type seen struct {
	payload string
	raw     stream.Headers // Envelope.Headers as handed over
	id, ct  string         // through Envelope.Header
	loaded  stream.Headers // LoadHeaders
}

func recorder(ch chan<- seen, fail string) stream.Handler {
	return func(_ context.Context, m stream.Envelope) error {
		s := seen{payload: string(m.Payload), raw: m.Headers.Clone(), id: m.Header(stream.HeaderID), ct: m.Header(stream.HeaderContentType)}
		s.loaded = maps.Clone(m.LoadHeaders())
		ch <- s
		if s.payload == fail {
			return errors.New("rejected for good")
		}
		return nil
	}
}

func next(t *testing.T, ch <-chan seen) seen {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-ctxT(t).Done():
		t.Fatal("no message")
		return seen{}
	}
}

// The id and contentType headers Send gives a message sent without them
// are kept beside the sender's headers: a consumer bound with LazyHeaders
// reads them through Header and LoadHeaders, with no map in Headers; any
// other consumer, and the dead letter, gets them in Headers; a sender's
// map is never modified; an empty id or contentType header of the
// sender's is replaced, not left to hide the stamped one.
func TestStampedHeaders(t *testing.T) {
	br := newBroker(t, memory.Config{})
	bd := newBinder(t, br, nil)
	lazy, eager, dead := make(chan seen, 16), make(chan seen, 16), make(chan seen, 16)
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "d", Group: "lazy", LazyHeaders: true,
		Handler: recorder(lazy, "poison"), Consumer: stream.ConsumerConfig{DLQ: true}}).Start(ctxT(t)))
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "d", Group: "eager", Handler: recorder(eager, "")}).Start(ctxT(t)))
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: stream.DLQName("d", "lazy"), Group: "dlq", Handler: recorder(dead, "")}).Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "d", ContentType: "application/json"})

	// No headers: the lazy consumer gets none in Headers.
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("bare")}))
	l, e := next(t, lazy), next(t, eager)
	if len(l.raw) != 0 {
		t.Errorf("lazy consumer: Headers %v, want none (the stamped headers read lazily)", l.raw)
	}
	if l.id == "" || l.ct != "application/json" {
		t.Errorf("lazy consumer: Header(id) %q, Header(contentType) %q; want an id and application/json", l.id, l.ct)
	}
	want := stream.Headers{stream.HeaderID: l.id, stream.HeaderContentType: "application/json"}
	if !maps.Equal(l.loaded, want) || !maps.Equal(e.raw, want) || !maps.Equal(e.loaded, want) {
		t.Errorf("headers: lazy loaded %v, eager %v / %v; want %v (one id for both groups)", l.loaded, e.raw, e.loaded, want)
	}

	// A sender's empty id and contentType are replaced; its map is kept as
	// it was.
	mine := stream.Headers{stream.HeaderID: "", stream.HeaderContentType: "", "x": "1"}
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("empty"), Headers: mine}))
	l, e = next(t, lazy), next(t, eager)
	if l.id == "" || l.ct != "application/json" || l.loaded["x"] != "1" || e.raw[stream.HeaderID] != l.id || e.raw["x"] != "1" {
		t.Errorf("empty id/contentType of the sender's: lazy id %q ct %q loaded %v, eager %v", l.id, l.ct, l.loaded, e.raw)
	}
	if !maps.Equal(mine, stream.Headers{stream.HeaderID: "", stream.HeaderContentType: "", "x": "1"}) {
		t.Errorf("the sender's headers were modified: %v", mine)
	}

	// A sender's own id and contentType are kept.
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("own"), Headers: stream.Headers{stream.HeaderID: "i-1", stream.HeaderContentType: "text/plain"}}))
	l, e = next(t, lazy), next(t, eager)
	if l.id != "i-1" || l.ct != "text/plain" || e.raw[stream.HeaderID] != "i-1" || e.raw[stream.HeaderContentType] != "text/plain" {
		t.Errorf("own id/contentType: lazy %q %q, eager %v", l.id, l.ct, e.raw)
	}

	// The dead letter of a lazily read message carries the stamped headers.
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("poison")}))
	l, _ = next(t, lazy), next(t, eager)
	d := next(t, dead)
	if d.payload != "poison" || d.raw[stream.HeaderID] != l.id || d.raw[stream.HeaderContentType] != "application/json" || d.raw[stream.HeaderExceptionMessage] == "" {
		t.Errorf("dead letter: %q %v; want the message's id %q, its contentType and the exception headers", d.payload, d.raw, l.id)
	}
}
