package idempotency_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// The log line of a skipped duplicate names the idempotency key under
// "idempotency_key", as the lease warnings do: under "key" the redacting
// logger docs/operations.md says to use (telemetry.NewLogger) printed it
// as key=******, so the key of a skipped duplicate could not be read.
func TestDuplicateSkippedLogSurvivesRedaction(t *testing.T) {
	var logs syncbuf.Buffer
	st := newStores(t, "memory")
	st.logger = telemetry.NewLogger(&logs, telemetry.LogConfig{Level: slog.LevelDebug})
	a := startApp(t, newBroker(t, "memory"), st, appSpec{store: "memory",
		handler: func(context.Context, stream.Message[order]) error { return nil }})
	id := uniqueID(t, "dup")
	a.send(t, id, 1)
	a.send(t, id, 1)
	waitFor(t, 30*time.Second, "the duplicate skipped", func() bool { return a.idem.Stats("handle-in-0").Skipped == 1 })
	a.stop() // the log line follows the count
	l := logs.String()
	if !strings.Contains(l, "duplicate skipped") || !strings.Contains(l, "idempotency_key="+id) || strings.Contains(l, "******") {
		t.Fatalf("the skipped duplicate's key is not logged as idempotency_key=%s; log:\n%s", id, l)
	}
}
