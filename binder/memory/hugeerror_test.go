package memory_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestHugeHandlerErrorLoggedBounded: the DEBUG line about a failed
// message dropped without a DLQ carries at most 2 KiB of its handler's
// 2 MiB error, as the core's lines do (it carried all of it, one such
// line per message).
func TestHugeHandlerErrorLoggedBounded(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	c := consumer(t, bd, stream.ConsumerSpec{Binding: "pay-in-0", Destination: "hugeerr", Group: "billing", Logger: log,
		Handler: func(context.Context, stream.Envelope) error {
			return stream.Permanent(errors.New(strings.Repeat("e", 2<<20)))
		}})
	must(t, c.Start(ctxT(t)))
	must(t, producer(t, bd, stream.ProducerSpec{Destination: "hugeerr"}).Send(ctxT(t), msg("x", -1)))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "message dropped after handler failure") {
		if time.Now().After(deadline) {
			t.Fatalf("no drop line; log:\n%.2000s", buf.String())
		}
		runtime.Gosched() // polling the log
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if len(line) > 8<<10 {
			t.Errorf("a log line of %d bytes: %.300s…", len(line), line)
		}
	}
}
