package stream_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A *stream.Message[[]byte] is a Message[[]byte] by pointer
// (docs/conventions.md), so native decoding and encoding accept it as they
// accept the Message: they refused it ("must take []byte, string or a
// Message of one of them").
func TestNativePointerMessage(t *testing.T) {
	got := make(chan []byte, 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "pass", func(_ context.Context, m *stream.Message[[]byte]) (*stream.Message[[]byte], error) {
		return m, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m *stream.Message[[]byte]) error { got <- m.Payload; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "pass;sink"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":        {Destination: "in", ContentType: "application/avro"},
			"pass-in-0":  {Destination: "in", Group: "g", ContentType: "application/avro", Consumer: stream.ConsumerConfig{UseNativeDecoding: true}},
			"pass-out-0": {Destination: "mid", ContentType: "application/avro", Producer: stream.ProducerConfig{UseNativeEncoding: true}},
			"sink-in-0":  {Destination: "mid", Group: "g", Consumer: stream.ConsumerConfig{UseNativeDecoding: true}},
		},
	}
	r := start(t, cfg, fns)
	raw := []byte{0x02, 0x06, 'a', 'b', 'c', 0xff}
	if err := r.app.Bridge().Send(context.Background(), "src", raw); err != nil {
		t.Fatal(err)
	}
	if b := recv(t, got); !bytes.Equal(b, raw) {
		t.Fatalf("got % x, want % x", b, raw)
	}
}
