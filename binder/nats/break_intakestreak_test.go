package nats_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// attemptsLog records the attempt of every "consuming failed" line.
type attemptsLog struct {
	mu       sync.Mutex
	attempts []int64
	changed  chan struct{}
}

func (h *attemptsLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *attemptsLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *attemptsLog) WithGroup(string) slog.Handler            { return h }
func (h *attemptsLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "nats: consuming failed; retrying" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "attempt" {
			h.mu.Lock()
			h.attempts = append(h.attempts, a.Value.Int64())
			h.mu.Unlock()
			select {
			case h.changed <- struct{}{}:
			default:
			}
		}
		return true
	})
	return nil
}

func (h *attemptsLog) waitFor(t *testing.T, n int) []int64 {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		got := append([]int64(nil), h.attempts...)
		h.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("%d consuming failures logged, want %d", len(got), n)
		}
	}
}

// TestBreakIntakeStreakResets: a consumer whose pull fails (here its
// durable consumer is deleted), recovers and consumes for longer than
// reconnect-stable-interval, then fails again, starts a new streak: the
// second failure is attempt 1 with the shortest back-off, not attempt 2.
// Found by the soak trial: over a service's lifetime every outage
// continued the previous one's count (attempt=1, 2, 3 … minutes apart),
// so after a few outages every recovery waited the maximum back-off (5s).
func TestBreakIntakeStreakResets(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	h := &attemptsLog{changed: make(chan struct{}, 1)}
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Environment: map[string]any{"servers": srv.URL(), "reconnect-stable-interval": "1s"}, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := unique(t, "streak")
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	n := 0
	sendAndWait := func() {
		t.Helper()
		id := "m-" + strconv.Itoa(n)
		n++
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
		tr.wait(t, []string{id}, 30*time.Second)
	}
	sendAndWait()
	deleteConsumer(t, srv.URL(), dest, "g")
	h.waitFor(t, 1)
	sendAndWait()               // recovered
	time.Sleep(2 * time.Second) // consuming well for longer than reconnect-stable-interval
	sendAndWait()
	deleteConsumer(t, srv.URL(), dest, "g")
	got := h.waitFor(t, 2)
	if got[0] != 1 || got[1] != 1 {
		t.Errorf("attempts logged %v, want [1 1]: the second outage, after a stable pull, continued the first one's streak", got)
	}
	sendAndWait()
}
