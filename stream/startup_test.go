package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// outage wraps the in-process binder: its binds fail with err until up is
// set, like a broker that is down at start-up.
type outage struct {
	stream.Binder
	up       *atomic.Bool
	err      error
	attempts *atomic.Int64
}

func (o outage) BindProducer(ctx context.Context, s stream.ProducerSpec) (stream.Producer, error) {
	o.attempts.Add(1)
	if !o.up.Load() {
		return nil, o.err
	}
	return o.Binder.BindProducer(ctx, s)
}

func (o outage) BindConsumer(ctx context.Context, s stream.ConsumerSpec) (stream.Consumer, error) {
	o.attempts.Add(1)
	if !o.up.Load() {
		return nil, o.err
	}
	return o.Binder.BindConsumer(ctx, s)
}

func outageApp(t *testing.T, startup time.Duration, bindErr error) (*stream.App, *atomic.Bool, *atomic.Int64) {
	t.Helper()
	up, attempts := new(atomic.Bool), new(atomic.Int64)
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		if err != nil {
			return nil, err
		}
		return outage{Binder: b, up: up, err: bindErr, attempts: attempts}, nil
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "flaky",
		Binders:       map[string]stream.BinderConfig{"flaky": {Type: "flaky", StartupTimeout: startup}},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("flaky", factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	return app, up, attempts
}

func TestStartupWaitsForUnavailableBroker(t *testing.T) {
	app, up, attempts := outageApp(t, time.Minute, stream.Unavailable(errors.New("dial tcp 127.0.0.1:1: connection refused")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	deadline := time.After(wait)
	for attempts.Load() < 2 { // it retried at least once
		select {
		case err := <-done:
			t.Fatalf("Run ended while the broker was down: %v", err)
		case <-deadline:
			t.Fatal("no retry of the bind")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if s := app.State(); s != "starting" {
		t.Fatalf("state while the broker is down = %q, want starting", s)
	}
	up.Store(true)
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(wait):
		t.Fatal("not ready after the broker came back")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestStartupTimeoutEndsStartup(t *testing.T) {
	app, _, attempts := outageApp(t, 300*time.Millisecond, stream.Unavailable(errors.New("connection refused")))
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "startup-timeout") || !errors.Is(err, stream.ErrUnavailable) {
			t.Fatalf("Run = %v, want an unavailable error naming startup-timeout", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not end after the startup-timeout")
	}
	if n := attempts.Load(); n < 2 {
		t.Fatalf("%d bind attempts, want retries within the timeout", n)
	}
}

// TestStartupTimeoutIsNotTheDeadline: the start-up failure is a
// StartupTimeoutError, ErrUnavailable, but not context.DeadlineExceeded
// even when the last attempt's error wraps it (a dial cut by the
// startup-timeout's deadline): a main that ignores its own context's end
// with errors.Is(err, context.DeadlineExceeded) must not hide it.
func TestStartupTimeoutIsNotTheDeadline(t *testing.T) {
	app, _, _ := outageApp(t, 300*time.Millisecond, stream.Unavailable(fmt.Errorf("dial tcp 127.0.0.1:1: %w", context.DeadlineExceeded)))
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(wait):
		t.Fatal("Run did not end after the startup-timeout")
	}
	var te *stream.StartupTimeoutError
	if !errors.As(err, &te) || te.Binder != "flaky" || te.Timeout != 300*time.Millisecond {
		t.Fatalf("Run = %v (%T), want a StartupTimeoutError of binder flaky, 300ms", err, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, stream.ErrUnavailable) {
		t.Errorf("Run = %v: Is(DeadlineExceeded) = %v, Is(ErrUnavailable) = %v; want false, true", err,
			errors.Is(err, context.DeadlineExceeded), errors.Is(err, stream.ErrUnavailable))
	}
	if !strings.Contains(err.Error(), "unavailable for the whole startup-timeout (300ms): ") || !strings.Contains(err.Error(), "dial tcp 127.0.0.1:1") {
		t.Errorf("Run = %q, want the binder, the timeout and the last error", err)
	}
}

func TestStartupOtherBindErrorsEndAtOnce(t *testing.T) {
	app, _, attempts := outageApp(t, time.Minute, errors.New("ACCESS_REFUSED"))
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "ACCESS_REFUSED") {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not end")
	}
	if n := attempts.Load(); n != 1 {
		t.Fatalf("%d bind attempts, want 1", n)
	}
}
