package rabbit

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestMaxConcurrencyAboveConcurrencyWarns: a consumer binding with SCSt's
// max-concurrency above its concurrency binds (it was refused) and
// consumes, with its concurrency workers (what SCSt's listener container
// runs while not under load); a WARN at bind says that max-concurrency is
// not honoured, with its key and both numbers.
func TestMaxConcurrencyAboveConcurrencyWarns(t *testing.T) {
	var logged syncbuf.Buffer
	b, admin := vhostBinder(t, slog.New(slog.NewTextHandler(&logged, nil)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan struct{}, 1)
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "work-in-0", Destination: "work", Group: "g",
		Consumer:  stream.ConsumerConfig{Concurrency: 2},
		Extension: map[string]any{"maxConcurrency": 5},
		Handler:   func(context.Context, stream.Envelope) error { got <- struct{}{}; return nil }})
	if err != nil {
		t.Fatalf("BindConsumer: %v", err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	log := logged.String()
	if !strings.Contains(log, `level=WARN msg="rabbit: max-concurrency is not honoured`) ||
		!strings.Contains(log, "property=stream.rabbit.bindings.work-in-0.consumer.maxConcurrency max_concurrency=5 concurrency=2") {
		t.Errorf("log:\n%s", log)
	}
	publish(ctx, t, admin, "work", "work", "job")
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("message not consumed")
	}
}
