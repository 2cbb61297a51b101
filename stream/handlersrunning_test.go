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

// TestShutdownNamesRunningHandlersMemory: a handler still running (it
// ignores its context) when stream.shutdown-timeout is up is named by the
// app's shutdown ERROR (handlers_running, and in the error), and on the
// in-process binder neither the app's line nor the binder's error says
// its message is "to be redelivered": that binder cannot redeliver once
// the process ends, as its own WARN says of what it discards. Before, the
// ERROR said "in-flight messages interrupted, to be redelivered".
func TestShutdownNamesRunningHandlersMemory(t *testing.T) {
	fns := stream.NewCatalog()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	stream.AddConsumer(fns, "slow", func(context.Context, string) error {
		started <- struct{}{}
		<-release // past the shutdown timeout, whatever its context says
		return nil
	})
	stream.AddConsumer(fns, "quick", func(context.Context, string) error { return nil })
	cfg := &stream.Config{ShutdownTimeout: 200 * time.Millisecond,
		Function: stream.FunctionConfig{Definition: "slow;quick"},
		Bindings: map[string]stream.BindingConfig{
			"slow-in-0":  {Destination: "d", Group: "g", ContentType: "text/plain"},
			"quick-in-0": {Destination: "e", Group: "g", ContentType: "text/plain"},
		},
	}
	var logs syncbuf.Buffer
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	if err := app.Bridge().Send(ctx, "d", "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("handler not called")
	}
	cancel()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
	if err == nil || !strings.Contains(err.Error(), "handlers still running at the end of the shutdown timeout (200ms) in binding slow-in-0 (binder memory: the in-process binder cannot redeliver its messages once the process ends; they are lost)") {
		t.Errorf("Run: %v; want the running handler's binding named, its messages said lost", err)
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "stream app shutdown incomplete") {
			line = l
		}
	}
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "handlers_running=slow-in-0 ") && !strings.HasSuffix(line, "handlers_running=slow-in-0") {
		t.Errorf("the shutdown ERROR does not name slow-in-0 (only it) as running: %s", line)
	}
	if strings.Contains(logs.String(), "to be redelivered") {
		t.Errorf("the in-process binder's shutdown says 'to be redelivered':\n%s", logs.String())
	}
}
