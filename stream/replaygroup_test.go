package stream_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// The target group of a replayed copy (x-streambind-replay-group) is the
// copy's alone: a function's output does not carry it on (passed on, the
// other groups of the output's destination would skip the output), a
// dead letter drops it (its dead-letter readers are groups of their
// own), and a copy of a copy's dead letter starts without it (the replay
// sets its own, or none with --to).
func TestReplayGroupStaysOnTheCopy(t *testing.T) {
	got := make(chan stream.Message[Order], 2)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, m stream.Message[Order]) (stream.Message[Order], error) {
		return stream.Message[Order]{Payload: m.Payload, Headers: m.Headers.Clone()}, nil
	})
	stream.AddFunction(fns, "plain", func(_ context.Context, o Order) (Order, error) { return o, nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "relay;plain;sink"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":         {Destination: "in", Producer: stream.ProducerConfig{RequiredGroups: []string{"g", "p"}}},
			"relay-in-0":  {Destination: "in", Group: "g"},
			"relay-out-0": {Destination: "out"},
			"plain-in-0":  {Destination: "in", Group: "p"},
			"plain-out-0": {Destination: "out"},
			"sink-in-0":   {Destination: "out", Group: "s"},
		},
	}
	r := start(t, cfg, fns)
	copyOf := stream.ReplayHeaders(stream.Headers{stream.HeaderID: "m-1", "kept": "yes"})
	copyOf[stream.HeaderReplayGroup] = "g"
	// As streambind dlq replay sends it: with the binder's producer (a
	// binding's send drops the header, see TestReplayGroupNotSentOn).
	var bd stream.Binder
	for _, b := range r.app.Binders() {
		bd = b
	}
	p, err := bd.BindProducer(context.Background(), stream.ProducerSpec{Binding: "replay", Destination: "in", ContentType: stream.DefaultContentType})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), stream.Envelope{Payload: []byte(`{"orderId":"o-1"}`), Headers: copyOf}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		m := recv(t, got)
		if g, ok := m.Headers[stream.HeaderReplayGroup]; ok {
			t.Errorf("output of a replayed copy carries %s %q (headers %v)", stream.HeaderReplayGroup, g, m.Headers)
		}
		if m.Headers["kept"] != "yes" {
			t.Errorf("headers %v: the other headers must stay", m.Headers)
		}
	}

	dl := stream.DeadLetterHeaders(copyOf, errors.New("card declined"))
	if _, ok := dl[stream.HeaderReplayGroup]; ok {
		t.Errorf("dead letter headers %v carry %s", dl, stream.HeaderReplayGroup)
	}
	if _, ok := stream.ReplayHeaders(copyOf)[stream.HeaderReplayGroup]; ok {
		t.Errorf("ReplayHeaders of %v keeps %s", copyOf, stream.HeaderReplayGroup)
	}
}

// TestReplayGroupNotSentOn: a message sent through a binding (the bridge,
// a function's output) never carries x-streambind-replay-group, which
// only streambind dlq replay's copies have: passed on from a copy (its
// headers forwarded through the bridge), every group of the destination
// but the one it names would skip it (the reviewer's repro: the mailer
// group never got a receipt forwarded from a replayed order).
func TestReplayGroupNotSentOn(t *testing.T) {
	got := make(chan stream.Message[Order], 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "mail", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		OutputBindings: "receipts",
		Bindings: map[string]stream.BindingConfig{
			"receipts":  {Destination: "receipts"},
			"mail-in-0": {Destination: "receipts", Group: "mailer"},
		},
	}
	r := start(t, cfg, fns)
	h := stream.Headers{stream.HeaderReplayGroup: "payment", "x-correlation": "c-1"}
	if err := r.app.Bridge().Send(context.Background(), "receipts", stream.Message[Order]{Payload: Order{OrderID: "o-1"}, Headers: h}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if g, ok := m.Headers[stream.HeaderReplayGroup]; ok || m.Headers["x-correlation"] != "c-1" {
		t.Fatalf("sent on through the bridge: %s=%q (present %v), headers %v; want it dropped, the others kept", stream.HeaderReplayGroup, g, ok, m.Headers)
	}
	if h[stream.HeaderReplayGroup] != "payment" {
		t.Fatalf("the caller's headers changed: %v", h)
	}
}
