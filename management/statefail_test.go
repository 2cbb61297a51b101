package management_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// A stop whose in-flight message does not finish within the state change's
// time stops the binding all the same (the message is redelivered): the
// 500 says the state it is in, and the failure is logged. The answer was
// only the error, and nothing was logged, so an operator took the binding
// for still STARTED.
func TestStateChangeFailureSaysState(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(ctx context.Context, s string) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "src",
		DefaultBinder:  "memory",
		Bindings: map[string]stream.BindingConfig{
			"src":       {Destination: "work"},
			"sink-in-0": {Destination: "work", Group: "g", ContentType: "text/plain"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	srv := management.New(app, management.Options{
		Config: management.Config{Address: "127.0.0.1:0", WriteTimeout: 2 * time.Second}, // a change waits 1s
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	ctx := runServed(t, app, srv)
	defer close(release)
	if err := app.Bridge().Send(ctx, "src", "slow"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(wait):
		t.Fatal("the handler did not start")
	}
	code, body, raw := do(t, http.MethodPost, "http://"+srv.Addr()+"/actuator/bindings/sink-in-0", `{"state":"STOPPED"}`)
	if code != http.StatusInternalServerError {
		t.Fatalf("POST STOPPED with a message in flight: %d %s", code, raw)
	}
	if got := app.Binding("sink-in-0").State(); got != stream.StateStopped {
		t.Fatalf("the binding is %s", got)
	}
	if body["state"] != management.BindingStopped || body["error"] == nil {
		t.Errorf("the answer does not say the binding is STOPPED: %s", raw)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"binding state change failed"`) || !strings.Contains(out, `"requested":"STOPPED"`) ||
		!strings.Contains(out, `"state":"STOPPED"`) {
		t.Errorf("the failure is not logged: %s", out)
	}
}

// runServed starts srv and runs app until the test ends (then stops the
// app and shuts srv down); it returns once the app is ready, with the
// context the app runs in.
func runServed(t *testing.T, app *stream.App, srv *management.Server) context.Context {
	t.Helper()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		sctx, scancel := context.WithTimeout(context.Background(), wait)
		defer scancel()
		_ = srv.Shutdown(sctx)
	})
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return ctx
}
