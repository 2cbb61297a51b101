package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// flapping: every bind fails as unavailable until 700ms after the first
// attempt of that binding, like a broker that is reachable only now and
// then.
type flapping struct {
	stream.Binder
	mu    sync.Mutex
	first map[string]time.Time
}

func (f *flapping) ok(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, seen := f.first[name]
	if !seen {
		f.first[name] = time.Now()
		return false
	}
	return time.Since(t) > 700*time.Millisecond
}

var errDown = stream.Unavailable(errors.New("dial tcp: connection refused"))

func (f *flapping) BindProducer(ctx context.Context, s stream.ProducerSpec) (stream.Producer, error) {
	if !f.ok(s.Binding) {
		return nil, errDown
	}
	return f.Binder.BindProducer(ctx, s)
}

func (f *flapping) BindConsumer(ctx context.Context, s stream.ConsumerSpec) (stream.Consumer, error) {
	if !f.ok(s.Binding) {
		return nil, errDown
	}
	return f.Binder.BindConsumer(ctx, s)
}

// TestStartupTimeoutIsPerBinder: each binding's binds fail for 0.7s, so
// binding five of them takes 3.5s; with a startup-timeout of 1s for their
// binder, start-up fails after about 1s rather than succeeding late (a
// timeout per binding would allow bindings × timeout).
func TestStartupTimeoutIsPerBinder(t *testing.T) {
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		if err != nil {
			return nil, err
		}
		return &flapping{Binder: b, first: map[string]time.Time{}}, nil
	}
	fns := stream.NewCatalog()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		stream.AddConsumer(fns, n, func(context.Context, string) error { return nil })
	}
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "a;b;c;d;e"},
		DefaultBinder: "flaky",
		Binders:       map[string]stream.BinderConfig{"flaky": {Type: "flaky", StartupTimeout: time.Second}},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("flaky", factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
		t.Fatalf("app became ready after %v although startup-timeout is 1s", time.Since(start).Round(time.Millisecond))
	case err := <-done:
		if el := time.Since(start); err == nil || !strings.Contains(err.Error(), "startup-timeout") || el > 2500*time.Millisecond {
			t.Fatalf("start-up ended after %v with %v; want a startup-timeout error after about 1s", el, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("neither ready nor failed")
	}
}

// slow: every bind takes a while and succeeds, like a reachable broker far
// away (each bind a few round trips).
type slow struct {
	stream.Binder
	d time.Duration
}

func (s slow) BindProducer(ctx context.Context, sp stream.ProducerSpec) (stream.Producer, error) {
	time.Sleep(s.d)
	return s.Binder.BindProducer(ctx, sp)
}

func (s slow) BindConsumer(ctx context.Context, sp stream.ConsumerSpec) (stream.Consumer, error) {
	time.Sleep(s.d)
	return s.Binder.BindConsumer(ctx, sp)
}

// TestStartupTimeoutCountsOnlyUnavailability: a binder whose binds all
// succeed, slowly, is not failed for "unavailable for the whole
// startup-timeout" when its many bindings take longer than the timeout
// together (the scale trial: 400 NATS bindings over a 50 ms round trip
// failed start-up after 60 s with the broker up); the timeout counts the
// time of failed attempts and the waits after them only.
func TestStartupTimeoutCountsOnlyUnavailability(t *testing.T) {
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		if err != nil {
			return nil, err
		}
		return slow{Binder: b, d: 25 * time.Millisecond}, nil
	}
	fns := stream.NewCatalog()
	var names []string
	for i := range 24 {
		names = append(names, fmt.Sprintf("c%d", i))
	}
	for _, n := range names {
		stream.AddConsumer(fns, n, func(context.Context, string) error { return nil })
	}
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: strings.Join(names, ";")},
		DefaultBinder: "far",
		Binders:       map[string]stream.BinderConfig{"far": {Type: "far", StartupTimeout: 300 * time.Millisecond}},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("far", factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready(): // 24 binds of 25ms: 600ms, over the 300ms timeout; each has 300ms
	case err := <-done:
		t.Fatalf("start-up failed with every bind succeeding: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("neither ready nor failed")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
