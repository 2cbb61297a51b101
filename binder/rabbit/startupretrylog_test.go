package rabbit

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// retryLines records when the app logged each "retrying the bind" WARN and
// the retry_in it gave.
type retryLines struct {
	mu    sync.Mutex
	at    []time.Time
	waits []time.Duration
}

func (h *retryLines) Enabled(context.Context, slog.Level) bool { return true }
func (h *retryLines) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *retryLines) WithGroup(string) slog.Handler            { return h }
func (h *retryLines) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "binder unavailable; retrying the bind" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			h.at = append(h.at, time.Now())
			h.waits = append(h.waits, a.Value.Duration())
		}
		return true
	})
	return nil
}

// TestStartupRetryInIsTheRealWait: the retry_in of the app's WARN at
// start-up is the time until the next connection attempt. The binder makes
// at most one attempt a second (bindAttemptInterval); before, the app
// logged its own back-off (retry_in=100ms, 200ms, 400ms, 800ms) and the
// bind then waited out the rest of the second inside the binder, so the
// attempts came about 1s apart whatever the log said.
func TestStartupRetryInIsTheRealWait(t *testing.T) {
	t.Parallel()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "rabbit",
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: Type, StartupTimeout: 3 * time.Second,
			Environment: map[string]any{"addresses": closedPort(t), "connection-timeout": "500ms"}}},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: uniqueDest(t, "retryin"), Group: "g"}},
	}
	h := &retryLines{}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.Run(ctx); err == nil {
		t.Fatal("Run succeeded with no broker")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.at) < 2 {
		t.Fatalf("%d retry WARNs in a 3s startup-timeout, want at least 2", len(h.at))
	}
	// The next WARN follows the wait and one failed attempt at a closed
	// port (milliseconds; the slack is for a loaded machine, and under the
	// 900ms by which the old first retry_in=100ms missed its real wait of
	// about 1s, which this must still catch).
	const slack = 700 * time.Millisecond
	for i := 0; i+1 < len(h.at); i++ {
		gap := h.at[i+1].Sub(h.at[i])
		t.Logf("attempt %d: retry_in=%v, next WARN %v later", i+1, h.waits[i], gap.Round(time.Millisecond))
		if gap < h.waits[i]-10*time.Millisecond || gap > h.waits[i]+slack {
			t.Errorf("attempt %d logged retry_in=%v but the next attempt failed %v later", i+1, h.waits[i], gap.Round(time.Millisecond))
		}
	}
}
