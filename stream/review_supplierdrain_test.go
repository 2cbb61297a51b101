package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A supplier's send that cannot complete during shutdown (its destination
// full, no consumer) must not take the shutdown time of the input
// bindings: a handler in flight when shutdown begins finishes with its
// context live and its binding stops cleanly, as before suppliers' sends
// outlived the start of shutdown.
func TestReviewSupplierSendDoesNotStarveInputDrain(t *testing.T) {
	broker, err := memory.NewBroker(memory.Config{BufferSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	supplied := make(chan struct{}, 8)
	handling := make(chan struct{}, 1)
	handled := make(chan error, 1)
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(ctx context.Context) (string, error) {
		supplied <- struct{}{}
		return "x", nil
	})
	stream.AddConsumer(fns, "work", func(ctx context.Context, s string) error {
		handling <- struct{}{}
		select {
		case <-time.After(500 * time.Millisecond):
			handled <- nil
		case <-ctx.Done():
			handled <- ctx.Err()
		}
		return nil
	})
	cfg := &stream.Config{
		Function:        stream.FunctionConfig{Definition: "tick;work"},
		ShutdownTimeout: 2 * time.Second,
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0": {Destination: "full", Producer: stream.ProducerConfig{
				RequiredGroups: []string{"g"}, Poller: stream.PollerConfig{FixedDelay: time.Millisecond}}},
			"work-in-0": {Destination: "in", Group: "w"},
		},
	}
	var logs syncbuf.Buffer
	r := startOn(t, broker, cfg, fns, slog.New(slog.NewTextHandler(&logs, nil)))
	for range 2 { // the first fills the queue, the second's send waits
		select {
		case <-supplied:
		case <-time.After(wait):
			t.Fatal("supplier not called")
		}
	}
	if err := r.app.Bridge().Send(context.Background(), "in", stream.Envelope{Payload: []byte(`"m"`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-handling:
	case <-time.After(wait):
		t.Fatal("handler not called")
	}
	start := time.Now()
	runErr := r.stop()
	took := time.Since(start)
	if err := <-handled; err != nil {
		t.Errorf("the handler in flight at shutdown was cut: %v (Run took %v: %v)", err, took, runErr)
	}
	if took > 2*time.Second+time.Second {
		t.Errorf("Run took %v after cancel, shutdown-timeout 2s", took)
	}
	if runErr != nil && strings.Contains(runErr.Error(), "work-in-0") {
		t.Errorf("the input binding did not drain within the shutdown timeout: %v", runErr)
	}
	t.Logf("Run: %v after %v", runErr, took)
}

// A polled supplier's value whose output binding was stopped or paused
// (management, Binding.Stop) cannot be sent once shutdown begins: the
// binding is not started again. Its send is not retried until the shutdown
// deadline, which made Run wait the whole shutdown-timeout and fail.
func TestReviewSupplierSendToStoppedBindingAtShutdown(t *testing.T) {
	for _, def := range []string{"tick", "tick|same"} {
		for _, op := range []string{"stop", "pause"} {
			t.Run(def+"/"+op, func(t *testing.T) {
				broker := newBroker(t)
				called := make(chan struct{}, 1)
				fns := stream.NewCatalog()
				stream.AddSupplier(fns, "tick", func(ctx context.Context) (string, error) {
					select {
					case called <- struct{}{}:
					default:
					}
					<-ctx.Done() // returns its value once shutdown began
					return "x", nil
				})
				stream.AddFunction(fns, "same", func(_ context.Context, s string) (string, error) { return s, nil })
				cfg := &stream.Config{Function: stream.FunctionConfig{Definition: def}, ShutdownTimeout: 5 * time.Second,
					Bindings: map[string]stream.BindingConfig{def + "-out-0": {Destination: "d"}}}
				r := startOn(t, broker, cfg, fns, discardLogger())
				select {
				case <-called:
				case <-time.After(wait):
					t.Fatal("supplier not called")
				}
				b := r.app.Binding(def + "-out-0")
				var err error
				if op == "stop" {
					err = b.Stop(context.Background())
				} else {
					err = b.Pause(context.Background())
				}
				if err != nil {
					t.Fatal(err)
				}
				stopped := make(chan error, 1)
				start := time.Now()
				go func() { stopped <- r.stop() }()
				err = <-stopped
				if took := time.Since(start); took > 3*time.Second || err != nil {
					t.Errorf("Run: %v after %v (shutdown-timeout 5s)", err, took)
				}
			})
		}
	}
}
