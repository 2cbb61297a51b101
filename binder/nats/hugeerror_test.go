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
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestHugeHandlerErrorLoggedBounded: a message whose dead letter cannot
// fit the server's max_payload (2 KiB here; another tool's x-original-*
// headers take 1.2 KiB, and x-exception-* keep 256 bytes each at least)
// is dropped with an ERROR line that carries at most 2 KiB of its
// handler's 2 MiB error, as the core's lines do, not all of it.
func TestHugeHandlerErrorLoggedBounded(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{Config: "max_payload: 2048\n"})
	var logs syncbuf.Buffer
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Environment: map[string]any{"servers": srv.URL()}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := unique(t, "hugeerr")
	huge := strings.Repeat("e", 2<<20)
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Handler: func(context.Context, stream.Envelope) error { return errors.New(huge) }})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	m := msg("huge")
	for i := range 6 { // kept to the end, and too short to be cut
		m.Headers[fmt.Sprintf("x-original-f%d", i)] = strings.Repeat("o", 200)
	}
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.(stream.DeadLetterReporter).DeadLetterStats().Dropped == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not dropped; log:\n%.3000s", logs.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the stats
	}
	out := logs.String()
	if !strings.Contains(out, "failed message dropped") {
		t.Fatalf("no drop line; log:\n%.3000s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 8<<10 {
			t.Errorf("a log line of %d bytes: %.300s…", len(line), line)
		}
	}
}
