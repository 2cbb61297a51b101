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
