package stream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// An input Message's Key is the function's own: a function that writes
// into it (here its first byte, then fails) changes neither the key its
// retries see nor the key of the dead letter. It was the binder's buffer,
// shared with the envelope the retries and the dead letter are made of,
// so the second attempt saw "Xbc" and the dead letter was keyed "Xbc".
func TestMessageKeyWrittenByAFailedAttempt(t *testing.T) {
	attempts := make(chan string, 3)
	dead := make(chan stream.Message[[]byte], 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "scribble", func(_ context.Context, m stream.Message[[]byte]) (stream.Message[[]byte], error) {
		attempts <- string(m.Key)
		m.Key[0] = 'X'
		return m, errors.New("fails every time")
	})
	stream.AddConsumer(fns, "dl", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	cc := stream.ConsumerConfig{MaxAttempts: 3, BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: time.Millisecond, DLQ: true}
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "scribble;dl"},
		Bindings: map[string]stream.BindingConfig{
			"scribble-in-0":  {Destination: "in", Group: "g", Consumer: cc},
			"scribble-out-0": {Destination: "out"},
			"dl-in-0":        {Destination: stream.DLQName("in", "g"), Group: "d"},
		},
	}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "in", stream.Envelope{Payload: []byte("p"), Key: []byte("abc")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if k := recv(t, attempts); k != "abc" {
			t.Errorf("attempt %d sees key %q, want abc", i, k)
		}
	}
	if d := recv(t, dead); string(d.Key) != "abc" {
		t.Errorf("the dead letter's key is %q, want abc", d.Key)
	}
}
