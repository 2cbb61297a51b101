package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A batch function's Message output that copies a message's headers does
// not keep that message's id (nor its replay headers), as a single
// message's output does not (withoutInputID): it kept it, so the outputs
// of two functions fed the batch — or any other copy of that id — were one
// message to an idempotent consumer downstream, which skipped the second.
func TestBatchMessageOutputDoesNotKeepInputID(t *testing.T) {
	got := make(chan stream.Message[[]Order], 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "batch", func(_ context.Context, ms []stream.Message[Order]) (stream.Message[[]Order], error) {
		orders := make([]Order, len(ms))
		for i, m := range ms {
			orders[i] = m.Payload
		}
		return stream.Message[[]Order]{Payload: orders, Headers: ms[0].Headers.Clone().With("kept", "yes")}, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[[]Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "batch;sink"},
		OutputBindings: "raw",
		Bindings: map[string]stream.BindingConfig{
			"raw":         {Destination: "in", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"batch-in-0":  {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true, AutoStartup: ptr(false)}},
			"batch-out-0": {Destination: "out"},
			"sink-in-0":   {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	ids := map[string]bool{}
	for _, id := range []string{"m-1", "m-2"} {
		ids[id] = true
		copyOf := stream.ReplayHeaders(stream.Headers{stream.HeaderID: "orig-" + id})
		if err := r.app.Bridge().Send(context.Background(), "raw", stream.Message[Order]{Payload: Order{OrderID: id}, Headers: copyOf.With(stream.HeaderID, id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.app.Binding("batch-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if id := m.Headers[stream.HeaderID]; ids[id] || id == "" {
		t.Fatalf("batch output id %q: want a new one, not an input's (headers %v)", id, m.Headers)
	}
	if r, n := m.Headers[stream.HeaderReplayedID], m.Headers[stream.HeaderReplayCount]; r != "" || n != "" {
		t.Fatalf("batch output of replayed copies: %s %q, %s %q; want neither", stream.HeaderReplayedID, r, stream.HeaderReplayCount, n)
	}
	if m.Headers["kept"] != "yes" {
		t.Fatalf("headers %v: the other copied headers must stay", m.Headers)
	}
}
