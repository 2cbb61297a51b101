package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A function that passes a replayed copy's headers on to a Message output
// (as the conventions advise, to keep them) does not give the output the
// input's x-streambind-replayed-id nor its replay count: the output is a
// new message, not a replayed copy. Kept, the idempotent consumer's
// default key (the replayed id first) was the input's original id on
// every such output, so the outputs two functions made of one replayed
// copy were one message downstream and the second was skipped; and the
// output's dead letter counted the input's replays (--max-replays).
// Values the function sets itself stay.
func TestMessageOutputDoesNotCopyInputReplayHeaders(t *testing.T) {
	got := make(chan stream.Message[Order], 2)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, m stream.Message[Order]) (stream.Message[Order], error) {
		h := m.Headers.Clone()
		if m.Payload.OrderID == "own" {
			h = h.With(stream.HeaderReplayedID, "chosen").With(stream.HeaderReplayCount, "7")
		}
		return stream.Message[Order]{Payload: m.Payload, Headers: h}, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "relay;sink"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":         {Destination: "in", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"relay-in-0":  {Destination: "in", Group: "g"},
			"relay-out-0": {Destination: "out"},
			"sink-in-0":   {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	copyOf := stream.ReplayHeaders(stream.Headers{stream.HeaderID: "m-1", "kept": "yes"})
	if err := r.app.Bridge().Send(context.Background(), "src", stream.Message[Order]{Payload: Order{OrderID: "o-1"}, Headers: copyOf}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if id, n := m.Headers[stream.HeaderReplayedID], m.Headers[stream.HeaderReplayCount]; id != "" || n != "" {
		t.Fatalf("output of a replayed copy: %s %q, %s %q; want neither (headers %v)", stream.HeaderReplayedID, id, stream.HeaderReplayCount, n, m.Headers)
	}
	if m.Headers["kept"] != "yes" {
		t.Fatalf("headers %v: the other copied headers must stay", m.Headers)
	}
	if err := r.app.Bridge().Send(context.Background(), "src", stream.Message[Order]{Payload: Order{OrderID: "own"}, Headers: copyOf}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); m.Headers[stream.HeaderReplayedID] != "chosen" || m.Headers[stream.HeaderReplayCount] != "7" {
		t.Fatalf("headers %v: the replay headers the function set must stay", m.Headers)
	}
}
