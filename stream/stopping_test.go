package stream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// A state change that raced the app's shutdown (a management POST that
// passed its "running" check just before) could start a binding the
// shutdown had stopped, or one stopped before it: it then took messages
// while its binder closed under it. Once the shutdown began, Start and
// Resume of a configured binding refuse with ErrStopping, and the binding
// stays as the shutdown leaves it.
func TestStartRefusedOnceShutdownBegan(t *testing.T) {
	inFlight, release := make(chan struct{}), make(chan struct{})
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "slow", func(context.Context, string) error {
		close(inFlight)
		<-release
		return nil
	})
	stream.AddConsumer(fns, "idle", func(context.Context, string) error { return nil })
	stream.AddFunction(fns, "fwd", func(_ context.Context, s string) (string, error) { return s, nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "slow;idle;fwd"},
		Bindings: map[string]stream.BindingConfig{
			"slow-in-0": {Destination: "slow", Group: "g", ContentType: "text/plain"},
			"idle-in-0": {Destination: "idle", Group: "g", ContentType: "text/plain"},
			"fwd-in-0":  {Destination: "fwd", Group: "g", ContentType: "text/plain"},
			"fwd-out-0": {Destination: "fwded", ContentType: "text/plain"},
		},
		ShutdownTimeout: 30 * time.Second,
	}
	r := start(t, cfg, fns)
	idle := r.app.Binding("idle-in-0")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := idle.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// An output binding stays until the inputs drained.
	held := r.app.Binding("fwd-out-0")
	if err := held.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Bridge().Send(ctx, "slow", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, inFlight)
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	// The shutdown waits for slow's handler: it has begun once the app
	// says so.
	for r.app.State() != "stopping" {
		select {
		case <-ctx.Done():
			t.Fatal("the shutdown did not begin")
		case <-time.After(time.Millisecond):
		}
	}
	if err := idle.Start(ctx); !errors.Is(err, stream.ErrStopping) {
		t.Errorf("Start during the shutdown: %v, want ErrStopping", err)
	}
	if s := idle.State(); s != stream.StateStopped {
		t.Errorf("state %s after a refused Start", s)
	}
	if err := held.Resume(ctx); !errors.Is(err, stream.ErrStopping) {
		t.Errorf("Resume during the shutdown: %v, want ErrStopping", err)
	}
	if s := held.State(); s != stream.StatePaused {
		t.Errorf("state %s after a refused Resume", s)
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
