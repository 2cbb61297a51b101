package stream_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// closerComponent is a component holding what the handlers use (a pool):
// Close records whether a handler was still running.
type closerComponent struct {
	name          string
	handlers      *atomic.Int64 // handlers running
	blockStop     bool          // Stop waits for its ctx to end
	stopped       atomic.Bool
	stopCalled    chan struct{} // closed by Stop
	stopAt        time.Time     // when Stop was called; read after stopCalled
	closed        chan int64    // handlers running at Close
	closeDeadline chan time.Time
}

func (c *closerComponent) Name() string                { return c.name }
func (c *closerComponent) Start(context.Context) error { return nil }

func (c *closerComponent) Stop(ctx context.Context) error {
	c.stopped.Store(true)
	c.stopAt = time.Now()
	close(c.stopCalled)
	if c.blockStop {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (c *closerComponent) Close(ctx context.Context) error {
	c.closed <- c.handlers.Load()
	d, _ := ctx.Deadline()
	c.closeDeadline <- d
	return nil
}

// slowApp is an app with a consumer on d whose handler runs until its
// context ends (or, with untilStop, until c's Stop was called), and c
// joined to it.
func slowApp(t *testing.T, timeout time.Duration, c *closerComponent, untilStop bool) (*stream.App, chan struct{}) {
	t.Helper()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close(context.Background()) })
	running := make(chan struct{}, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(ctx context.Context, _ string) error {
		c.handlers.Add(1)
		defer c.handlers.Add(-1)
		running <- struct{}{}
		if untilStop {
			<-c.stopCalled
			return nil
		}
		<-ctx.Done()
		return ctx.Err()
	})
	cfg := &stream.Config{OutputBindings: "out", Function: stream.FunctionConfig{Definition: "sink"}, ShutdownTimeout: timeout,
		Bindings: map[string]stream.BindingConfig{"out": {Destination: "d", ContentType: "text/plain"}, "sink-in-0": {Destination: "d", Group: "g"}}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.AddComponent(c); err != nil {
		t.Fatal(err)
	}
	return app, running
}

func newCloser(blockStop bool) *closerComponent {
	return &closerComponent{name: "pool", handlers: new(atomic.Int64), blockStop: blockStop, stopCalled: make(chan struct{}),
		closed: make(chan int64, 1), closeDeadline: make(chan time.Time, 1)}
}

// TestComponentClosedAfterBindingsDrained: a ComponentCloser is closed
// after the bindings stopped: the handler that was running when shutdown
// began (it ends once components are stopped, as a handler ends its work)
// has returned.
func TestComponentClosedAfterBindingsDrained(t *testing.T) {
	c := newCloser(false)
	app, running := slowApp(t, 10*time.Second, c, true)
	r := runApp(t, app)
	if err := app.Bridge().Send(context.Background(), "out", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, running)
	if err := r.stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := recv(t, c.closed); n != 0 {
		t.Errorf("Close was called while %d handler(s) still ran", n)
	}
}

// TestShutdownOneDeadline: a component's Stop and a handler both use all
// the time they are given; Run still ends within shutdown-timeout (they
// had one shutdown-timeout each before: twice as long), and Close gets
// the same deadline.
func TestShutdownOneDeadline(t *testing.T) {
	const timeout = 2 * time.Second
	c := newCloser(true)
	app, running := slowApp(t, timeout, c, false)
	r := runApp(t, app)
	if err := app.Bridge().Send(context.Background(), "out", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, running)
	start := time.Now()
	err := r.stop()
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "component pool: stop") {
		t.Errorf("Run: %v; want the component's Stop error", err)
	}
	recv(t, c.closed)
	// Run takes its one deadline after its context ended (start) and
	// before it stops the components (stopAt): Close's must lie between
	// shutdown-timeout after each, however late Run's goroutine ran.
	<-c.stopCalled
	if d := recv(t, c.closeDeadline); d.IsZero() || d.Before(start.Add(timeout)) || d.After(c.stopAt.Add(timeout)) {
		t.Errorf("Close's deadline %v after the shutdown began (components stopped after %v), want shutdown-timeout (%s) after it began",
			d.Sub(start), c.stopAt.Sub(start), timeout)
	}
	// One shutdown-timeout, with room for a loaded machine; not two.
	if took > timeout+timeout*3/4 {
		t.Errorf("Run returned %s after its context ended; shutdown-timeout is %s", took.Round(time.Millisecond), timeout)
	}
}

// TestComponentClosedWhenStartFails: a ComponentCloser is closed even when
// start-up failed before it started (what it holds was made when it was
// built), and is not stopped.
func TestComponentClosedWhenStartFails(t *testing.T) {
	cfg := &stream.Config{OutputBindings: "out"}
	app, err := stream.NewApp(cfg, nil, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	failing := &lifecycleComponent{app: app, startErr: errors.New("no database"), readyAtStart: make(chan error, 1), sentInStop: make(chan error, 1)}
	c := newCloser(false)
	for _, x := range []stream.Component{failing, c} {
		if err := app.AddComponent(x); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("Run: %v", err)
	}
	select {
	case <-c.closed:
	default:
		t.Error("the component that never started was not closed")
	}
	if c.stopped.Load() {
		t.Error("the component that never started was stopped")
	}
}
