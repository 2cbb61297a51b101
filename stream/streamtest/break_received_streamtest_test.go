package streamtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// What the harness takes of an app's output or dead letter is what the
// app sent, without how the harness's own consumer received it: such a
// Received is none of the app's (the harness's destination, the
// in-process sequence number and time). A test that sends a dead letter
// back to the input (a replay) or an output on to another input must not
// hand the app that Received as its input's: SendEnvelope refused the
// dead letter (its Received.Destination, the dead-letter destination, is
// not one of the input's), and an output sent on reached the function with
// the harness's offset and time as the binder's.
func TestBreakReceivedHarnessCopiesCarryNoReceived(t *testing.T) {
	seen := make(chan stream.Received, 4)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "check", func(_ context.Context, m stream.Message[string]) (string, error) {
		seen <- m.Received
		if m.Headers["fail"] == "yes" {
			return "", stream.Permanent(errors.New("failing on purpose"))
		}
		return m.Payload, nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "check"},
		Bindings: map[string]stream.BindingConfig{
			"check-in-0":  {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}},
			"check-out-0": {Destination: "out"},
		},
	}
	env := streamtest.Start(t, cfg, fns)

	next := func() stream.Received {
		t.Helper()
		select {
		case r := <-seen:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("the function was not called")
		}
		return stream.Received{}
	}
	env.Send(t, "check-in-0", "a", "fail", "yes")
	first := next()
	dl, err := env.DeadLetter("check-in-0")
	if err != nil {
		t.Fatal(err)
	}
	if dl.Received != (stream.Received{}) {
		t.Errorf("dead letter's Received %+v, want none (the harness's reception)", dl.Received)
	}
	delete(dl.Headers, "fail")
	if err := env.SendEnvelope("check-in-0", dl); err != nil {
		t.Fatalf("sending the dead letter back: %v", err)
	}
	again := next()
	if again.Destination != "in" || !again.HasOffset || again.Offset <= first.Offset {
		t.Errorf("replayed: Received %+v, want destination in and an offset after %d", again, first.Offset)
	}
	out, err := env.ReceiveEnvelope("check-out-0")
	if err != nil {
		t.Fatal(err)
	}
	if out.Received != (stream.Received{}) {
		t.Errorf("output's Received %+v, want none (the harness's reception)", out.Received)
	}
}
