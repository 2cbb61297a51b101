package nats_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
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

// TestBreakDeadLetterFitsMaxBytes: a dead letter is fitted to its
// stream's max-bytes as to max-msg-size. The original fitted its own
// stream, but with the exception headers its dead letter did not: with
// discard old it was stored and dropped at once to keep the limit (the
// message terminated, nothing kept), with discard new refused for ever
// (the message came back after each delay, handled again and again).
func TestBreakDeadLetterFitsMaxBytes(t *testing.T) {
	for _, discard := range []string{"old", "new"} {
		t.Run("discard-"+discard, func(t *testing.T) {
			b, _ := shared(t, map[string]any{"stream": map[string]any{"max-bytes": 2500, "discard": discard}})
			dest := unique(t, "dlqbytes")
			fail := func(context.Context, stream.Envelope) error {
				return errors.New(strings.Repeat("card declined by the issuer; ", 40))
			}
			startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: fail, Consumer: stream.ConsumerConfig{DLQ: true}})
			p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
			m := msg("poison")
			m.Payload = []byte(strings.Repeat("y", 1900))
			if err := p.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			js := jsAt(t, natstest.URL())
			name := natsbinder.StreamName(stream.DLQName(dest, "g"))
			deadline := time.Now().Add(10 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				s, err := js.Stream(ctx, name)
				var info *jetstream.StreamInfo
				if err == nil {
					info, err = s.Info(ctx)
				}
				cancel()
				if err == nil && info.State.Msgs == 1 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("dead-letter stream after 10s: %+v, %v; want the dead letter kept", info, err)
				}
				time.Sleep(20 * time.Millisecond) // polling the server's state, bounded
			}
		})
	}
}

// TestBreakLargerThanMaxBytesDiscardOld: with discard old, a message
// larger than its stream's max-bytes alone is refused by Send, not stored:
// JetStream stored and acknowledged it and dropped it at once (and every
// older message) to keep the limit — a Send that succeeded, the message
// and the stream's earlier ones lost.
func TestBreakLargerThanMaxBytesDiscardOld(t *testing.T) {
	b, _ := shared(t, map[string]any{"stream": map[string]any{"max-bytes": 1000, "discard": "old"}})
	dest := unique(t, "maxbytes-old")
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	if err := p.Send(ctx, msg("small")); err != nil {
		t.Fatal(err)
	}
	big := msg("big")
	big.Payload = []byte(strings.Repeat("x", 2000))
	if err := p.Send(ctx, big); err == nil || !stream.IsPermanent(err) || !strings.Contains(err.Error(), "max-bytes") {
		t.Errorf("Send of 2000 bytes to a stream of max-bytes 1000 (discard old): %v; want a permanent error naming max-bytes", err)
	}
	s, err := jsAt(t, natstest.URL()).Stream(ctx, natsbinder.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	if st := s.CachedInfo().State; st.Msgs != 1 {
		t.Errorf("stream holds %d messages (last sequence %d); want the small one kept", st.Msgs, st.LastSeq)
	}
}
