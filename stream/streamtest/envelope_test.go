package streamtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

type order struct {
	ID string `json:"id"`
}

// TestSendEnvelopeAsItsBytes: env.Send of a stream.Envelope (or a
// *stream.Envelope) sends its Payload bytes as they are, as Bridge().Send
// does (now for a *stream.Envelope too), with its headers and key: bytes the binding cannot decode reach
// its dead letter as they were. Before, Send JSON-encoded the Envelope
// struct ({"Payload":"bm90IGpzb24=","Headers":...}), so the test sent
// something else.
func TestSendEnvelopeAsItsBytes(t *testing.T) {
	fns := stream.NewCatalog()
	got := make(chan order, 2)
	stream.AddConsumer(fns, "charge", func(_ context.Context, o order) error { got <- o; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "charge"},
		Bindings: map[string]stream.BindingConfig{"charge-in-0": {Destination: "orders", Group: "g",
			Consumer: stream.ConsumerConfig{DLQ: true}}},
	}
	env := streamtest.Start(t, cfg, fns)
	for _, v := range []any{
		stream.Envelope{Payload: []byte("not json {"), Headers: stream.Headers{"x-case": "value"}, Key: []byte("k1")},
		&stream.Envelope{Payload: []byte("not json {"), Headers: stream.Headers{"x-case": "pointer"}, Key: []byte("k1")},
	} {
		env.Send(t, "charge-in-0", v, "x-pair", "p")
		dl, err := env.DeadLetter("charge-in-0")
		if err != nil {
			t.Fatal(err)
		}
		if string(dl.Payload) != "not json {" || dl.Headers["x-pair"] != "p" || dl.Headers["x-case"] == "" || string(dl.Key) != "k1" {
			t.Errorf("dead letter of %T: payload %q, key %q, headers %v; want the bytes as sent, key k1, x-case and x-pair", v, dl.Payload, dl.Key, dl.Headers)
		}
	}
	// The bridge sends a *stream.Envelope as it sends an Envelope (the
	// logic both share: stream.EnvelopeOf), not its pointer as JSON.
	if err := env.App.Bridge().Send(context.Background(), "charge-in-0", &stream.Envelope{Payload: []byte("raw <")}); err != nil {
		t.Fatal(err)
	}
	if dl, err := env.DeadLetter("charge-in-0"); err != nil || string(dl.Payload) != "raw <" {
		t.Errorf("bridge's *Envelope dead-lettered as %q (%v), want raw <", dl.Payload, err)
	}
	// Bytes that decode are handled as sent.
	env.Send(t, "charge-in-0", stream.Envelope{Payload: []byte(`{"id":"o-1"}`)})
	select {
	case o := <-got:
		if o.ID != "o-1" {
			t.Errorf("handled %+v, want id o-1", o)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the decodable Envelope was not handled")
	}
	env.ExpectNoDeadLetter(t, "charge-in-0")
}
