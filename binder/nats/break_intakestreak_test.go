package nats_test

import (
	"context"
	"fmt"
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
	fails    []failure // of each attempt, as logged
	openFail bool      // "cannot open" was logged since the last failure
	changed  chan struct{}
}

// failure is one "consuming failed" or "cannot open ...; retrying" line.
type failure struct {
	err string
	// open: the consumer could not be made again ("cannot open the
	// JetStream consumer; retrying"), rather than a pull failed.
	open bool
	// afterOpenFail: the pull that failed began after the consumer could
	// not be made again ("cannot open" logged since the failure before).
	afterOpenFail bool
}

func (h *attemptsLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *attemptsLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *attemptsLog) WithGroup(string) slog.Handler            { return h }
func (h *attemptsLog) Handle(_ context.Context, r slog.Record) error {
	switch r.Message {
	case "nats: cannot open the JetStream consumer":
		h.mu.Lock()
		h.openFail = true
		h.mu.Unlock()
		return nil
	case "nats: consuming failed; retrying", "nats: cannot open the JetStream consumer; retrying":
	default:
		return nil
	}
	var attempt int64
	var errText string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "attempt":
			attempt = a.Value.Int64()
		case "error":
			errText = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.attempts = append(h.attempts, attempt)
	h.fails = append(h.fails, failure{err: errText, afterOpenFail: h.openFail, open: r.Message != "nats: consuming failed; retrying"})
	h.openFail = false
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
	return nil
}

func (h *attemptsLog) waitFor(t *testing.T, n int) []int64 {
	t.Helper()
	got, _ := h.waitUntil(t, fmt.Sprintf("%d consuming failures logged", n), func(attempts []int64, _ []failure) bool { return len(attempts) >= n })
	return got
}

// waitUntil waits (30s at most) until ok holds of the attempts and
// failures logged so far, and returns them.
func (h *attemptsLog) waitUntil(t *testing.T, what string, ok func(attempts []int64, fails []failure) bool) ([]int64, []failure) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		got, fails := append([]int64(nil), h.attempts...), append([]failure(nil), h.fails...)
		h.mu.Unlock()
		if ok(got, fails) {
			return got, fails
		}
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("waiting for %s: attempts logged %v, failures %+v", what, got, fails)
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
	t.Parallel() // sleeps 2s on its own server: runs beside the others
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
