package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/syncbuf"
)

// A polled supplier's value whose send fails is sent again until the
// broker takes it: each failed attempt is a WARN "retrying", not an ERROR
// (a trial saw six ERROR lines through a Redis outage in which nothing was
// lost); the value lost to the shutdown is the ERROR.
func TestPolledSupplierRetriedSendLogsWarn(t *testing.T) {
	newRT := func(send func() error) (*runtimeBinding, *syncbuf.Buffer) {
		var logs syncbuf.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		b := newBinding("src-out-0", false, BindingConfig{Destination: "out"}, "b", "memory", log)
		b.state.Store(StateStarted)
		b.producer = producerFunc(func(context.Context, Envelope) error { return send() })
		return &runtimeBinding{out: b, outCx: convCtx{binding: "src-out-0", contentType: DefaultContentType}, log: log}, &logs
	}
	supplier := func(rt *runtimeBinding) *polledSupplier[[]byte] {
		return &polledSupplier[[]byte]{rt: rt, out: codecFor[[]byte](), fn: func(context.Context) ([]byte, error) { return []byte("v"), nil }}
	}
	down := errors.New("connection refused")

	t.Run("taken after two failures", func(t *testing.T) {
		var n atomic.Int32
		rt, logs := newRT(func() error {
			if n.Add(1) <= 2 {
				return down
			}
			return nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if more, err := supplier(rt).poll(ctx, ctx); err != nil || !more {
			t.Fatalf("poll: more %v, err %v", more, err)
		}
		l := logs.String()
		if strings.Count(l, "level=WARN msg=\"supplier output not sent, retrying\"") != 2 || strings.Contains(l, "level=ERROR") {
			t.Errorf("want two WARN retrying lines and no ERROR; log:\n%s", l)
		}
	})
	t.Run("lost to the shutdown", func(t *testing.T) {
		tried := make(chan struct{}, 100)
		rt, logs := newRT(func() error { tried <- struct{}{}; return down })
		send, cancel := context.WithCancel(context.Background())
		go func() { <-tried; cancel() }()
		supplier(rt).poll(context.Background(), send)
		if l := logs.String(); !strings.Contains(l, "level=ERROR msg=\"supplier output dropped: the app stopped before the broker took it\"") {
			t.Errorf("no ERROR for the value lost; log:\n%s", l)
		}
	})
	// The shutdown stops the output binding while the value is retried:
	// the attempt that finds it stopped is the last (stoppedForGood), so
	// the value is lost: an ERROR, not a WARN "retrying" (it was only that
	// WARN, and no ERROR).
	t.Run("binding stopped at shutdown", func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		var n atomic.Int32
		rt, logs := newRT(func() error {
			if n.Add(1) == 1 {
				return down
			}
			stop() // the app's shutdown began and stopped the binding
			return fmt.Errorf("send: %w", ErrBindingStopped)
		})
		send, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		supplier(rt).poll(ctx, send)
		l := logs.String()
		if n.Load() != 2 || strings.Count(l, "level=WARN msg=\"supplier output not sent, retrying\"") != 1 || !strings.Contains(l, "level=ERROR") {
			t.Errorf("%d attempts; want 2, one WARN retrying and an ERROR for the value lost; log:\n%s", n.Load(), l)
		}
	})
}
