package management_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// runWithWrappedMemory runs an app of cfg and fns on the in-process
// binder as wrap returns it (a binder with a behaviour of the test's),
// with a management server on a free loopback port, until the test ends;
// it returns the server's base URL once the app is ready.
func runWithWrappedMemory(t *testing.T, cfg *stream.Config, fns *stream.Catalog, wrap func(stream.Binder) stream.Binder) string {
	t.Helper()
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		if err != nil {
			return nil, err
		}
		return wrap(b), nil
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, factory), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	return "http://" + srv.Addr()
}
