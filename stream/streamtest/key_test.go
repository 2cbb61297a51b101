package streamtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// The harness carries the message key both ways, as the app's bridge and
// binders do: Send of a stream.Message with a Key delivers it with that key
// (the function reads it as its input's Key), and Receive and
// ReceiveDeadLetter return the key the app sent with (Message.Key). They
// dropped it, so an app's key handling could not be tested with the kit.
func TestMessageKeyThroughTheHarness(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "rekey", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		if m.Payload == "fail" {
			return m, stream.Permanent(errors.New("no"))
		}
		return stream.Message[string]{Payload: m.Payload, Key: append([]byte("out-"), m.Key...)}, nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "rekey"},
		Bindings: map[string]stream.BindingConfig{
			"rekey-in-0":  {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
			"rekey-out-0": {Destination: "out"},
		},
	}
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "rekey-in-0", stream.Message[string]{Payload: "a", Key: []byte("k1")})
	if m := streamtest.Receive[string](t, env, "rekey-out-0"); string(m.Key) != "out-k1" {
		t.Errorf("output key %q, want out-k1", m.Key)
	}
	env.Send(t, "rekey-in-0", &stream.Message[string]{Payload: "fail", Key: []byte{0, 0xff}})
	if d := streamtest.ReceiveDeadLetter[string](t, env, "rekey-in-0"); string(d.Key) != "\x00\xff" {
		t.Errorf("dead letter key %q, want \\x00\\xff", d.Key)
	}
}
