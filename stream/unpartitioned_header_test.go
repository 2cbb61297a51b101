package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A function that passes on a partitioned input's headers (a Message's,
// as the conventions advise) to an output that is not partitioned does
// not pass on the input's scst_partition: the binders route by it (Redis
// wrote to <dest>:<n>, a stream no consumer of the destination reads), and
// SCSt's binders use it only for a partitioned producer.
func TestUnpartitionedOutputDropsCopiedPartitionHeader(t *testing.T) {
	got := make(chan stream.Message[Order], 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, m stream.Message[Order]) (stream.Message[Order], error) {
		return stream.Message[Order]{Payload: m.Payload, Headers: m.Headers}, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "relay;sink"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":         {Destination: "in", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.customerId", PartitionCount: 3, RequiredGroups: []string{"g"}}},
			"relay-in-0":  {Destination: "in", Group: "g"},
			"relay-out-0": {Destination: "out"},
			"sink-in-0":   {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "src", stream.NewMessage(Order{OrderID: "o-1", CustomerID: "c-7"}, "kept", "yes")); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if p, ok := m.Headers[stream.HeaderPartition]; ok {
		t.Fatalf("the unpartitioned output carried scst_partition=%q (headers %v)", p, m.Headers)
	}
	if m.Headers["kept"] != "yes" {
		t.Fatalf("headers %v: the other copied headers must stay", m.Headers)
	}
}

// A function that passes its input's headers on to a Message output does
// not give the output its input's id (found by the type trial: on NATS,
// where the id is Nats-Msg-Id, every output of one input but the first
// was deduplicated away); SCSt regenerates a copied message's id. An id
// the function sets itself is kept.
func TestMessageOutputDoesNotCopyInputID(t *testing.T) {
	got := make(chan stream.Message[Order], 2)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, m stream.Message[Order]) (stream.Message[Order], error) {
		h := m.Headers.Clone()
		if m.Payload.OrderID == "own" {
			h = h.With(stream.HeaderID, "chosen-id")
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
	if err := r.app.Bridge().Send(context.Background(), "src", stream.NewMessage(Order{OrderID: "o-1"}, stream.HeaderID, "input-id", "kept", "yes")); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if id := m.Headers[stream.HeaderID]; id == "input-id" || id == "" {
		t.Fatalf("output id %q: want a new one, not the input's", id)
	}
	if m.Headers["kept"] != "yes" {
		t.Fatalf("headers %v: the other copied headers must stay", m.Headers)
	}
	if err := r.app.Bridge().Send(context.Background(), "src", stream.NewMessage(Order{OrderID: "own"}, stream.HeaderID, "input-id-2")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); m.Headers[stream.HeaderID] != "chosen-id" {
		t.Fatalf("output id %q: the id the function set must stay", m.Headers[stream.HeaderID])
	}
}
