package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// down: every bind fails as unavailable at once, like a broker whose port
// refuses connections; attempted is signalled after each attempt.
type down struct {
	stream.Binder
	attempted chan struct{}
}

func (d down) fail() error {
	select {
	case d.attempted <- struct{}{}:
	default:
	}
	return stream.Unavailable(errors.New("dial tcp 127.0.0.1:1: connection refused"))
}

func (d down) BindProducer(context.Context, stream.ProducerSpec) (stream.Producer, error) {
	return nil, d.fail()
}

func (d down) BindConsumer(context.Context, stream.ConsumerSpec) (stream.Consumer, error) {
	return nil, d.fail()
}

// A start-up cancelled while it waits to retry a bind (the broker down)
// ends with an error that carries the context's: errors.Is(err,
// context.Canceled), as a start-up cancelled during a bind does (74bc04a,
// 315192b). It returned the last attempt's error alone.
func TestReviewStartupCancelledDuringBackOffCarriesContext(t *testing.T) {
	attempted := make(chan struct{}, 1)
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		if err != nil {
			return nil, err
		}
		return down{Binder: b, attempted: attempted}, nil
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "a"},
		DefaultBinder: "down",
		Binders:       map[string]stream.BinderConfig{"down": {Type: "down", StartupTimeout: time.Minute}},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("down", factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-attempted: // the first attempt failed; the app waits 100ms to retry
	case <-time.After(10 * time.Second):
		t.Fatal("no bind attempt")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("start-up cancelled while waiting to retry: %v; want context.Canceled in its chain, and the last attempt's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("start-up did not end after its context did")
	}
}
