package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// Bridge.Encode (the outbox's) drops a copied scst_partition on an output
// that is not partitioned, as Send does (9fd35eb): SendEncoded sends the
// envelope as it is, so the header would route it to a partition's stream
// or subject no consumer of the destination reads, and docs/outbox.md
// promises what a direct send would have produced.
func TestEncodeUnpartitionedDropsCopiedPartitionHeader(t *testing.T) {
	got := make(chan stream.Message[Order], 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "out",
		Bindings: map[string]stream.BindingConfig{
			"out":       {Destination: "d", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"sink-in-0": {Destination: "d", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	for _, payload := range []any{
		stream.NewMessage(Order{OrderID: "o-1"}, stream.HeaderPartition, "2", "kept", "yes"),
		stream.Envelope{Payload: []byte(`{"orderId":"o-1"}`), Headers: stream.Headers{stream.HeaderPartition: "2", "kept": "yes"}},
	} {
		env, err := r.app.Bridge().Encode("out", payload)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := env.Headers[stream.HeaderPartition]; ok {
			t.Fatalf("Encode of %T for an unpartitioned output kept scst_partition=%q (headers %v)", payload, p, env.Headers)
		}
		if env.Headers["kept"] != "yes" {
			t.Fatalf("headers %v: the other headers must stay", env.Headers)
		}
		if err := r.app.Bridge().SendEncoded(context.Background(), "out", env); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, got); m.Payload.OrderID != "o-1" {
			t.Fatalf("got %+v", m)
		}
	}
}
