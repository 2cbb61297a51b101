package redis_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// recordingHandler keeps the messages and errors of the records logged.
type recordingHandler struct {
	mu   sync.Mutex
	recs []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, line)
	h.mu.Unlock()
	return nil
}

func (h *recordingHandler) count(sub string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range h.recs {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// TestConnectAttemptsLoggedAtDebug: a failed connection attempt is
// logged at DEBUG, one record an attempt, as the rabbit binder logs its
// own: streambind's --verbose showed every RabbitMQ attempt and not one
// Redis attempt (docs/cli.md: "--verbose logs every attempt").
func TestConnectAttemptsLoggedAtDebug(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // refused from now on
	h := &recordingHandler{}
	bb, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "redis", Type: redisbinder.Type,
		Environment: map[string]any{"address": addr}, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bb.Close(context.Background()) }()
	for range 2 {
		if _, err := bb.BindProducer(context.Background(), stream.ProducerSpec{Binding: "p", Destination: "d"}); err == nil || !errors.Is(err, stream.ErrUnavailable) {
			t.Fatalf("bind on a refusing port: %v", err)
		}
	}
	if n := h.count("DEBUG redis: connection attempt of a bind failed error=redis: " + addr + ": cannot reach the server"); n != 2 {
		t.Errorf("%d DEBUG records of a failed attempt, want 2: %q", n, h.recs)
	}
}
