package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestStreamDeletedShortSendTimeout: a producer whose send-timeout is
// shorter than nats.go's own retries of a publish nobody answers (2 ×
// 250 ms) provisions a deleted stream again all the same. It waited out
// every attempt as "no PubAck within send-timeout" while nats.go was
// still retrying, never saw "no stream answering", and so never made the
// stream again: every later Send failed.
func TestStreamDeletedShortSendTimeout(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "deleted-short")
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Extension: map[string]any{"send-timeout": "200ms"}})
	ctx := context.Background()
	if err := p.Send(ctx, msg("before")); err != nil {
		t.Fatal(err)
	}
	deleteStream(t, dest)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := p.Send(sctx, msg("after")); err != nil {
		t.Fatalf("Send after the stream was deleted: %v", err)
	}
	if err := p.(stream.BindingHealthChecker).Health(ctx); err != nil {
		t.Errorf("producer health: %v", err)
	}
}
