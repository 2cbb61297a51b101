package nats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBreakLargerThanMaxBytesIsPermanent: a message larger than its
// stream's max-bytes (discard new) can never be stored: its Send fails
// at once with a permanent error saying so, so that the input it came
// from is dead-lettered. It was retried send-attempts times as a full
// stream's refusal and then failed as transient, for the input to come
// back for ever. A message refused because the stream is full stays
// transient.
func TestBreakLargerThanMaxBytesIsPermanent(t *testing.T) {
	b, _ := shared(t, map[string]any{"stream": map[string]any{"max-bytes": 1000, "discard": "new"}})
	dest := unique(t, "maxbytes")
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Extension: map[string]any{"send-attempts": 2}})
	ctx := context.Background()
	big := msg("big")
	big.Payload = []byte(strings.Repeat("x", 2000))
	start := time.Now()
	err := p.Send(ctx, big)
	if err == nil || !stream.IsPermanent(err) || !strings.Contains(err.Error(), "max-bytes") {
		t.Fatalf("Send of 2000 bytes to a stream of max-bytes 1000: %v; want a permanent error naming max-bytes", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the refusal took %v; want it at once", d)
	}
	// Fill the stream: the refusal then is the full stream's.
	for i := range 20 {
		err = p.Send(ctx, msg("small"))
		if err != nil {
			break
		}
		if i == 19 {
			t.Fatal("20 messages of about 100 bytes stored in max-bytes 1000")
		}
	}
	if stream.IsPermanent(err) {
		t.Errorf("a full stream's refusal is permanent: %v", err)
	}
}
