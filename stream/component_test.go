package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// lifecycleComponent records its calls and sends through the bridge in
// Stop, as an outbox relay finishing its batch does.
type lifecycleComponent struct {
	app      *stream.App
	startErr error
	health   error
	readyAtStart,
	sentInStop chan error
	stopped bool
}

func (c *lifecycleComponent) Name() string { return "probe" }

func (c *lifecycleComponent) Start(context.Context) error {
	select {
	case <-c.app.Ready():
		c.readyAtStart <- errors.New("Ready closed before Start")
	default:
		c.readyAtStart <- nil
	}
	return c.startErr
}

func (c *lifecycleComponent) Stop(ctx context.Context) error {
	c.stopped = true
	c.sentInStop <- c.app.Bridge().Send(ctx, "out", "last words")
	return nil
}

func (c *lifecycleComponent) Health(context.Context) error { return c.health }

func TestComponentLifecycle(t *testing.T) {
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close(context.Background())
	got := make(chan string, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	cfg := &stream.Config{OutputBindings: "out", Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{"out": {Destination: "d", ContentType: "text/plain"}, "sink-in-0": {Destination: "d", Group: "g"}}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	c := &lifecycleComponent{app: app, health: errors.New("db down"), readyAtStart: make(chan error, 1), sentInStop: make(chan error, 1)}
	if err := app.AddComponent(c); err != nil {
		t.Fatal(err)
	}
	if err := app.AddComponent(c); err == nil {
		t.Error("a second component of the same name was added")
	}
	r := runApp(t, app)
	if err := recv(t, c.readyAtStart); err != nil {
		t.Error(err)
	}
	if err := app.AddComponent(&lifecycleComponent{}); err == nil {
		t.Error("AddComponent succeeded on a running app")
	}
	var found bool
	for _, h := range app.Health(context.Background()) {
		if h.Name == "probe" {
			found = true
			if h.Up || h.Type != "component" || h.Error != "db down" {
				t.Errorf("component health: %+v", h)
			}
		}
	}
	if !found {
		t.Error("App.Health does not report the component")
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, c.sentInStop); err != nil {
		t.Errorf("send in Stop: %v", err)
	}
	// The send was accepted; whether the sink handled it before its input
	// was unbound is a race the test does not decide: the message is either
	// handled or still queued for group g, never lost.
	select {
	case s := <-got:
		if s != "last words" {
			t.Errorf("got %q", s)
		}
	default:
		if n, ok := broker.Depth("d", "g"); !ok || n != 1 {
			t.Errorf("the message sent in Stop was neither handled nor queued (depth %d, group found %v)", n, ok)
		}
	}
}

func TestComponentStartErrorEndsStartup(t *testing.T) {
	cfg := &stream.Config{OutputBindings: "out"}
	app, err := stream.NewApp(cfg, nil, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	c := &lifecycleComponent{app: app, startErr: errors.New("no database"), readyAtStart: make(chan error, 1), sentInStop: make(chan error, 1)}
	if err := app.AddComponent(c); err != nil {
		t.Fatal(err)
	}
	err = app.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start component probe: no database") {
		t.Errorf("Run: %v", err)
	}
	if c.stopped {
		t.Error("a component whose Start failed was stopped")
	}
}
