package rabbit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// A bridge send waiting for a blocked broker (connection.blocked) when the
// app stops fails with an error that is stream.ErrClosed, as a send after
// Close does: the caller (an HTTP handler) tells "the app is stopping"
// from a broker failure. Before the fix the wait's error was a bare
// "binder closed".
func TestBridgeSendWaitingAtShutdownIsErrClosed(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	px := rabbittest.NewProxy(t, nil)
	cfg := &stream.Config{
		DefaultBinder: "rabbit", OutputBindings: "o", ShutdownTimeout: 2 * time.Second,
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: map[string]any{
			"addresses": px.Addr(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{"o": {Destination: "o", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}}},
	}
	app, err := stream.NewApp(cfg, stream.NewCatalog(), stream.WithBinderType(Type, New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("app ended: %v", err)
	}
	if err := app.Bridge().Send(ctx, "o", "before"); err != nil {
		t.Fatal(err)
	}
	if px.Block("low memory") == 0 {
		t.Fatal("no connection to block")
	}
	defer px.Unblock()
	// Once the client has taken the connection.blocked frame in, a send
	// is held until its context ends.
	for deadline := time.Now().Add(20 * time.Second); ; {
		short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
		err = app.Bridge().Send(short, "o", "blocked")
		cancelShort()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("send to a blocked broker: %v, want it held until its deadline", err)
		}
	}
	res := make(chan error, 1)
	go func() { res <- app.Bridge().Send(context.Background(), "o", "at shutdown") }()
	// Another held send, for the first to be waiting too when the app
	// stops. Whether it is or not (it may still be before the bridge's
	// check of the app's state, which fails it with ErrClosed), it must
	// fail with ErrClosed.
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	if err := app.Bridge().Send(short, "o", "blocked"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send to a blocked broker: %v, want it held until its deadline", err)
	}
	cancelShort()
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, stream.ErrClosed) {
			t.Fatalf("send at shutdown: %v, want stream.ErrClosed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("send at shutdown did not return")
	}
}
