package nats_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterStreamMaxAgeBelowDuplicateWindow: a dlq-stream.max-age
// below stream.duplicate-window (2m by default) makes a dead-letter
// stream whose duplicate window is its max-age: JetStream refuses a
// window longer than max-age, and every bind of a binding with a
// dead-letter destination failed (create stream ...: duplicates window
// can not be larger then max age). A second bind finds the stream with
// the settings it would make: no WARN of differing settings.
func TestDeadLetterStreamMaxAgeBelowDuplicateWindow(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	lb := &logBuffer{}
	s := newStreams(t, natstest.URL())
	nb, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Environment: map[string]any{"servers": natstest.URL(), "dlq-stream": map[string]any{"max-age": "30s"}},
		Logger:      slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	bd := tracked{nb, s}
	closeBinder(t, bd)
	dest := unique(t, "short")
	dlq := stream.DLQName(dest, "g")
	s.add(dest)
	s.add(dlq)
	for i := range 2 {
		startConsumer(t, bd, stream.ConsumerSpec{Binding: fmt.Sprintf("reserveStock-in-%d", i), Destination: dest, Group: "g",
			Handler:  func(context.Context, stream.Envelope) error { return errors.New("poison") },
			Consumer: stream.ConsumerConfig{DLQ: true}})
	}
	js := jsAt(t, natstest.URL())
	st, err := js.Stream(bindCtx(t), natsbinder.StreamName(dlq))
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.MaxAge != 30*time.Second || c.Duplicates != 30*time.Second {
		t.Errorf("dead-letter stream: max-age %s, duplicate window %s; want 30s, 30s", c.MaxAge, c.Duplicates)
	}
	if st, err := js.Stream(bindCtx(t), natsbinder.StreamName(dest)); err != nil {
		t.Fatal(err)
	} else if c := st.CachedInfo().Config; c.Duplicates != natsbinder.DefaultDuplicateWindow {
		t.Errorf("the destination's stream: duplicate window %s, want %s", c.Duplicates, natsbinder.DefaultDuplicateWindow)
	}
	if strings.Contains(lb.String(), "other settings") {
		t.Errorf("a WARN of differing settings: %s", lb.String())
	}
}
