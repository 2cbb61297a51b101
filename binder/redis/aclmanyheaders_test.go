package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestACLDeadLetterManyHeaders: an ACL user with the permissions the
// package doc lists dead-letters a message of 4,000 headers (more than
// the script takes: written with its acknowledgement in MULTI/EXEC). The
// list lacked +multi and +exec: Redis refused the MULTI (NOPERM), ran the
// XADD and XACK on their own, and the consumer logged and counted the
// message dropped.
func TestACLDeadLetterManyHeaders(t *testing.T) {
	t.Parallel()
	s, admin := aclServer(t)
	b := newBinder(t, map[string]any{"address": s.Addr(), "username": "app", "password": appPassword, "key-prefix": "sb:"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logs := newLogLines()
	c := bindConsumer(t, b, stream.ConsumerSpec{Destination: "aclmany", Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true}, Logger: slog.New(logs),
		Handler: func(context.Context, stream.Envelope) error { return errors.New("poison") }})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "aclmany"})
	m := msg("many")
	for i := range 4000 {
		m.Headers[fmt.Sprintf("x-h-%d", i)] = "v"
	}
	if err := p.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the dead letter, and its entry acknowledged", func() bool {
		n, _ := admin.XLen(ctx, "sb:error.aclmany.g").Result()
		pe, err := admin.XPending(ctx, "sb:aclmany", "g").Result()
		return n == 1 && err == nil && pe.Count == 0
	})
	// The stats count the outcome before the acknowledgement is sent.
	if st := c.(stream.DeadLetterReporter).DeadLetterStats(); st.Dropped != 0 || logs.has("failed message dropped") {
		t.Errorf("dead-letter stats %+v (and an ERROR line that it was dropped: %v); want none dropped", st, logs.has("failed message dropped"))
	}
}
