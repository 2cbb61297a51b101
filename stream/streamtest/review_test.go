package streamtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// An input binding of several destinations dead-letters each message to
// the dead-letter destination of the destination it came from; the
// harness reads them all. It read only the first one's: a dead letter of
// the second was dropped (no group read it), DeadLetter timed out, and
// Drain waited for a dead letter it could never take in.
func TestDeadLettersOfEveryDestination(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "fwd", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return stream.Permanent(errors.New("refused")) })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "fwd;sink"},
		Bindings: map[string]stream.BindingConfig{
			"fwd-in-0":  {Destination: "in", Group: "fwd"},
			"fwd-out-0": {Destination: "second"},
			"sink-in-0": {Destination: "first, second", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
		},
	}
	env := streamtest.Start(t, cfg, fns)
	env.Timeout = 5 * time.Second
	env.Send(t, "fwd-in-0", "via second")
	m, err := env.DeadLetter("sink-in-0")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Payload) != "via second" || m.Headers[stream.HeaderOriginalTopic] != "second" {
		t.Fatalf("dead letter %q from %q", m.Payload, m.Headers[stream.HeaderOriginalTopic])
	}
	env.Send(t, "sink-in-0", "via first")
	if m, err := env.DeadLetter("sink-in-0"); err != nil || string(m.Payload) != "via first" {
		t.Fatalf("dead letter %q, %v", m.Payload, err)
	}
	env.ExpectNoDeadLetter(t, "sink-in-0")
}
