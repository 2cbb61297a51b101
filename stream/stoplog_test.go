package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A binding whose Stop ran out of time with a handler still running is
// stopped, but says so at WARN with the error, not with the INFO line of a
// clean stop.
func TestStopInterruptedLoggedAsWarning(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fns := stream.NewCatalog()
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	stream.AddConsumer(fns, "stuck", func(context.Context, string) error {
		close(entered)
		<-release // ignores its context
		return nil
	})
	cfg := fedBySrc("stuck", "")
	cfg.ShutdownTimeout = 50 * time.Millisecond
	r := start(t, cfg, fns, stream.WithLogger(log))
	if err := r.app.Bridge().Send(context.Background(), "src", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, entered)
	if err := r.stop(); err == nil {
		t.Fatal("Run returned nil with a handler still running after the shutdown timeout")
	}
	var stopped []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "binding=stuck-in-0") && strings.Contains(l, "binding stopped") {
			stopped = append(stopped, l)
		}
	}
	if len(stopped) != 1 || !strings.Contains(stopped[0], "level=WARN") || !strings.Contains(stopped[0], "interrupted") {
		t.Fatalf("want one WARN naming the interruption, got %q", stopped)
	}
}

// Pause likewise: paused, with a WARN naming the handler still running.
func TestPauseInterruptedLoggedAsWarning(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fns := stream.NewCatalog()
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	stream.AddConsumer(fns, "stuck", func(context.Context, string) error {
		close(entered)
		<-release
		return nil
	})
	r := start(t, fedBySrc("stuck", ""), fns, stream.WithLogger(log))
	if err := r.app.Bridge().Send(context.Background(), "src", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, entered)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	b := r.app.Binding("stuck-in-0")
	if err := b.Pause(ctx); err == nil {
		t.Fatal("Pause returned nil with a handler still running")
	}
	if b.State() != stream.StatePaused {
		t.Fatalf("state %v after a Pause that ran out of time; want paused", b.State())
	}
	var paused []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "binding=stuck-in-0") && strings.Contains(l, "binding paused") {
			paused = append(paused, l)
		}
	}
	if len(paused) != 1 || !strings.Contains(paused[0], "level=WARN") {
		t.Fatalf("want one WARN, got %q", paused)
	}
}
