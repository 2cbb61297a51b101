package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A polled supplier's value whose send is in flight when the app shuts
// down is sent within the shutdown timeout, not cut: a supplier has no
// input to deliver it again, so a cut send lost it (logged as "supplier
// output not sent ... context canceled"). Here the destination's queue is
// full (no consumer yet) when shutdown begins, and a consumer that starts
// during shutdown drains it: every value the supplier made arrives. The
// same for a composition that starts with a polled supplier.
func TestPolledSupplierSendInFlightAtShutdownIsSent(t *testing.T) {
	for _, def := range []string{"tick", "tick|same"} {
		t.Run(def, func(t *testing.T) { testSupplierSendAtShutdown(t, def) })
	}
}

func testSupplierSendAtShutdown(t *testing.T, def string) {
	broker, err := memory.NewBroker(memory.Config{BufferSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	var calls atomic.Int64
	thirdCalled := make(chan context.Context, 1)
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(ctx context.Context) (string, error) {
		n := calls.Add(1)
		if n == 3 {
			thirdCalled <- ctx
		}
		return fmt.Sprint(n), nil
	})
	stream.AddFunction(fns, "same", func(_ context.Context, s string) (string, error) { return s, nil })
	out := def + "-out-0"
	cfg := &stream.Config{
		Function:        stream.FunctionConfig{Definition: def},
		ShutdownTimeout: 20 * time.Second,
		Bindings: map[string]stream.BindingConfig{out: {Destination: "d", Producer: stream.ProducerConfig{
			RequiredGroups: []string{"g"}, Poller: stream.PollerConfig{FixedDelay: time.Millisecond}}}},
	}
	var logs syncbuf.Buffer
	r := startOn(t, broker, cfg, fns, slog.New(slog.NewTextHandler(&logs, nil)))
	var supplierCtx context.Context
	select {
	case supplierCtx = <-thirdCalled: // two values fill the queue; the third one's send waits for room
	case <-time.After(wait):
		t.Fatal("the supplier was not called three times")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()

	// Once shutdown has told the supplier to stop, a consumer of the group
	// makes room.
	select {
	case <-supplierCtx.Done():
	case <-time.After(wait):
		t.Fatal("shutdown did not end the supplier's context")
	}
	got := tapGroup(t, broker, "d", "g")
	var vals []string
	for len(vals) < 3 {
		select {
		case m := <-got:
			vals = append(vals, string(bytes.Trim(m.Payload, `"`)))
		case <-time.After(wait):
			t.Fatalf("received %v; want 1, 2, 3 (calls %d); log:\n%s", vals, calls.Load(), logs.String())
		}
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
	if fmt.Sprint(vals) != "[1 2 3]" || calls.Load() != 3 {
		t.Errorf("received %v after %d supplier calls, want [1 2 3] after 3", vals, calls.Load())
	}
	if bytes.Contains([]byte(logs.String()), []byte("not sent")) {
		t.Errorf("log:\n%s", logs.String())
	}
}
