package stream_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestShutdownStopsInProcessUpstreamFirst: on the in-process binder a
// function's input stops before the input of the consumer its output
// feeds. Stopped together, the consumer stopped first and left its full
// queue to the function, whose send then waited out the shutdown timeout
// ("stream app shutdown incomplete"), as a newcomer's relay → sink app
// did. Here the sink's queue holds one message, the sink is busy with
// another, and the relay's third output waits for room when shutdown
// begins.
func TestShutdownStopsInProcessUpstreamFirst(t *testing.T) {
	calls := make(chan struct{}, 8)
	sinkBusy := make(chan struct{}, 8)
	gate := make(chan struct{})
	var handled atomic.Int32
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, b []byte) ([]byte, error) {
		calls <- struct{}{}
		return b, nil
	})
	stream.AddConsumer(fns, "sink", func(ctx context.Context, b []byte) error {
		if handled.Add(1) == 1 {
			sinkBusy <- struct{}{}
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
		return nil
	})
	cfg := &stream.Config{
		Function:        stream.FunctionConfig{Definition: "relay;sink"},
		ShutdownTimeout: 3 * time.Second,
		Binders:         map[string]stream.BinderConfig{"memory": {Type: "memory", Environment: map[string]any{"buffer-size": 1}}},
		Bindings: map[string]stream.BindingConfig{
			"relay-in-0":  {Destination: "in", Group: "relay"},
			"relay-out-0": {Destination: "mid"},
			"sink-in-0":   {Destination: "mid", Group: "sink"},
		},
	}
	r := start(t, cfg, fns)
	for i := range 3 {
		go func() { _ = r.app.Bridge().Send(context.Background(), "in", []byte{byte(i)}) }()
	}
	recv(t, sinkBusy) // the first output, in the sink's hands
	for range 3 {     // the second waits in the sink's queue, the third for room
		recv(t, calls)
	}

	stopped := make(chan error, 1)
	begin := time.Now()
	go func() { stopped <- r.stop() }()
	deadline := time.Now().Add(wait)
	for r.app.State() != "stopping" {
		if time.Now().After(deadline) {
			t.Fatal("the app did not begin to stop")
		}
		time.Sleep(time.Millisecond)
	}
	// Not a synchronisation: time for a shutdown that stops the sink
	// first (the bug) to halt it before its handler returns; the fixed
	// order keeps the sink running until the relay stopped, whatever
	// this waits.
	time.Sleep(300 * time.Millisecond)
	close(gate)
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown after %s: %v", time.Since(begin).Round(time.Millisecond), err)
	}
}
