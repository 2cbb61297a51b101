package nats_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestSendCtxEndsInBackoff: a send whose ctx ends while it sleeps between
// attempts says whether the message may have been stored. After an
// attempt that went out unanswered (no PubAck within send-timeout) it may
// have been: the error says so, as when ctx ends awaiting a PubAck. After
// attempts JetStream refused it was not, and the error says that instead.
func TestSendCtxEndsInBackoff(t *testing.T) {
	t.Parallel() // waits out send timeouts
	url := natstest.URL()
	b := newBinder(t, url, nil)
	closeBinder(t, b)
	tb := tracked{b, newStreams(t, url)}
	dest := unique(t, "ctx-backoff")
	p := bindProducer(t, tb, stream.ProducerSpec{Destination: dest,
		Extension: map[string]any{"send-timeout": "100ms", "send-attempts": 5}})
	if err := p.Send(context.Background(), msg("first")); err != nil {
		t.Fatal(err)
	}
	// The stream goes; a plain subscriber takes its subject and either
	// answers nothing or refuses each publish as JetStream would.
	deleteStream(t, dest)
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var refuse atomic.Bool
	sub, err := nc.Subscribe(dest, func(m *natsgo.Msg) {
		if refuse.Load() {
			_ = m.Respond([]byte(`{"error":{"code":503,"err_code":10039,"description":"jetstream temporarily unavailable"}}`))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// Unanswered: the first attempt times out at 100ms, the back-off
	// sleeps 40-60ms; ctx ends at 125ms, in that sleep.
	ctx, cancel := context.WithTimeout(context.Background(), 125*time.Millisecond)
	err = p.Send(ctx, msg("unanswered"))
	cancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want a deadline error", err)
	}
	t.Logf("unanswered: %v", err)
	if !strings.Contains(err.Error(), "may still have been stored") {
		t.Errorf("Send = %v; an attempt went out unanswered, so the message may have been stored and the error must say so", err)
	}

	// Refused: every attempt is answered with an error at once; ctx ends
	// at 30ms, in the first back-off sleep. On a busy machine the first
	// refusal may come after 30ms: ctx then ended while an attempt waited
	// for its answer ("no PubAck": rightly, the message may have been
	// stored), not in a sleep. Such a round does not show the case, and
	// is tried again with a later deadline.
	refuse.Store(true)
	for round := 1; ; round++ {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(round)*30*time.Millisecond)
		err = p.Send(ctx, msg("refused"))
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want a deadline error", err)
		}
		if strings.Contains(err.Error(), "no PubAck") && round < 20 {
			t.Logf("round %d: ctx ended while an attempt waited for its answer: %v", round, err)
			continue
		}
		break
	}
	t.Logf("refused: %v", err)
	if text := err.Error(); strings.Contains(text, "may still have been stored") || !strings.Contains(text, "not stored") {
		t.Errorf("Send = %v; every attempt was refused: the error must say the message was not stored", err)
	}
}
