package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// redisApp is an app with one function, upper: destination in → out, on
// the redis binder at addr.
func redisApp(t *testing.T, addr string, env map[string]any, startup time.Duration) *stream.App {
	t.Helper()
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "upper", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	e := map[string]any{"address": addr}
	for k, v := range env {
		e[k] = v
	}
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "upper"},
		DefaultBinder: "r",
		Binders:       map[string]stream.BinderConfig{"r": {Type: redisbinder.Type, Environment: e, StartupTimeout: startup}},
		Bindings: map[string]stream.BindingConfig{
			"upper-in-0":  {Destination: "in", Group: "g", ContentType: "text/plain"},
			"upper-out-0": {Destination: "out", ContentType: "text/plain"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(redisbinder.Type, redisbinder.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestAppWaitsForRedis: the start-up rule — with the server down the app
// stays "starting" and retries; once it is up the app is ready and a
// message goes through the function.
func TestAppWaitsForRedis(t *testing.T) {
	t.Parallel()
	s := redistest.StartServer(t)
	s.Stop()
	app := redisApp(t, s.Addr(), map[string]any{"dial-timeout": "200ms"}, 30*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Run ended while the server was down: %v", err)
	case <-app.Ready():
		t.Fatal("ready while the server was down")
	case <-time.After(500 * time.Millisecond):
	}
	s.Start()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("not ready after the server came up")
	}
	c := redistest.Client(t, s.Addr(), "", "")
	if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: "in", Values: []any{"payload", "hello", "h:contentType", "text/plain"}}).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the function's output", func() bool {
		es, err := c.XRange(ctx, "out", "-", "+").Result()
		return err == nil && len(es) == 1 && es[0].Values["payload"] == "HELLO"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestAppWrongPasswordEndsStartup: a refused login ends start-up at once.
func TestAppWrongPasswordEndsStartup(t *testing.T) {
	s, _ := aclServer(t)
	app := redisApp(t, s.Addr(), map[string]any{"username": "app", "password": wrongPassword}, 30*time.Second)
	start := time.Now()
	err := app.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "authentication failed") || strings.Contains(err.Error(), wrongPassword) {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("start-up ended after %s, want at once", d)
	}
}
