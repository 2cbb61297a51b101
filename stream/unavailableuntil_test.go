package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// notBefore wraps the in-process binder: its first bind fails with
// stream.UnavailableUntil, naming a time hold after the attempt, as the
// RabbitMQ binder does for its least interval between connection attempts.
type notBefore struct {
	stream.Binder
	hold time.Duration
	mu   *sync.Mutex
	at   *[]time.Time
}

func (n notBefore) BindConsumer(ctx context.Context, s stream.ConsumerSpec) (stream.Consumer, error) {
	n.mu.Lock()
	*n.at = append(*n.at, time.Now())
	first := len(*n.at) == 1
	n.mu.Unlock()
	if first {
		return nil, stream.UnavailableUntil(errors.New("dial tcp 127.0.0.1:1: connection refused"), time.Now().Add(n.hold))
	}
	return n.Binder.BindConsumer(ctx, s)
}

// retryInHandler keeps the retry_in of the app's "retrying the bind" WARN.
type retryInHandler struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (h *retryInHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *retryInHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *retryInHandler) WithGroup(string) slog.Handler            { return h }
func (h *retryInHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "binder unavailable; retrying the bind" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			h.mu.Lock()
			h.waits = append(h.waits, a.Value.Duration())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

// TestStartupRetryWaitsUntilUnavailableUntil: a bind that failed with
// stream.UnavailableUntil(err, t) is retried no earlier than t, and the
// WARN's retry_in is that wait, not the shorter back-off (100ms) the app
// would otherwise log while the bind then waited inside the binder.
func TestStartupRetryWaitsUntilUnavailableUntil(t *testing.T) {
	const hold = 400 * time.Millisecond
	var mu sync.Mutex
	var at []time.Time
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		if err != nil {
			return nil, err
		}
		return notBefore{Binder: b, hold: hold, mu: &mu, at: &at}, nil
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "slow",
		Binders:       map[string]stream.BinderConfig{"slow": {Type: "slow", StartupTimeout: time.Minute}},
	}
	h := &retryInHandler{}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("slow", factory), stream.WithoutSignals(), stream.WithLogger(slog.New(h)))
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
		t.Fatalf("Run ended: %v", err)
	case <-time.After(wait):
		t.Fatal("not ready")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(at) != 2 || len(h.waits) != 1 {
		t.Fatalf("%d bind attempts and %d retry WARNs, want 2 and 1", len(at), len(h.waits))
	}
	if gap := at[1].Sub(at[0]); gap < hold-5*time.Millisecond {
		t.Errorf("retried %v after the first attempt, before the %v the binder named", gap, hold)
	}
	if h.waits[0] < hold-50*time.Millisecond {
		t.Errorf("the WARN says retry_in=%v, want about %v (the time the binder named)", h.waits[0], hold)
	}
}
