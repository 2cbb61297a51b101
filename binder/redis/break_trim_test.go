package redis_test

import (
	"context"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakTrimSlowGroup: two groups read one stream, one fast, one stuck
// (its handler blocks, with a few entries pending and most not yet read).
// The trimmer (trim-acked, every 100ms) of the fast group's binder and of
// the producer's must not delete what the slow group has not acknowledged:
// once it is let go it receives every message. Afterwards the stream is
// trimmed (acked entries are not kept unboundedly).
func TestBreakTrimSlowGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	ext := map[string]any{"trim-interval": "100ms"}
	dest := "trimslow"
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	p := bindProducer(t, e.binder(t, ext), stream.ProducerSpec{Destination: dest,
		Producer: stream.ProducerConfig{RequiredGroups: []string{"fast", "slow"}}})

	fast := newTracker()
	bindConsumer(t, e.binder(t, ext), stream.ConsumerSpec{Destination: dest, Group: "fast",
		Handler: func(_ context.Context, m stream.Envelope) error { fast.receive(m.Headers[idHeader]); return nil }})
	slow := newTracker()
	release := make(chan struct{})
	bindConsumer(t, e.binder(t, ext), stream.ConsumerSpec{Destination: dest, Group: "slow",
		Extension: map[string]any{"prefetch": 4},
		Handler: func(_ context.Context, m stream.Envelope) error {
			<-release
			slow.receive(m.Headers[idHeader])
			return nil
		}})

	sent := ids("m", 1000)
	send(t, p, sent)
	fast.wait(t, sent, 20*time.Second)
	waitFor(t, 10*time.Second, "the fast group to acknowledge everything", func() bool {
		s, err := admin.XPending(ctx, key, "fast").Result()
		return err == nil && s.Count == 0
	})
	// Several trim rounds of both trimmers while the slow group is stuck.
	for range 5 {
		time.Sleep(150 * time.Millisecond)
		if n, err := admin.XLen(ctx, key).Result(); err != nil || n != int64(len(sent)) {
			t.Fatalf("XLEN %d (%v) while the slow group has not read most entries, want %d", n, err, len(sent))
		}
	}
	close(release)
	slow.wait(t, sent, 20*time.Second)
	waitFor(t, 10*time.Second, "the stream trimmed once both groups acknowledged", func() bool {
		n, err := admin.XLen(ctx, key).Result()
		return err == nil && n <= 101 // MINID ~ trims whole nodes (stream-node-max-entries 100)
	})
}
