package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestReclaimBacklogNotPacedByClaimInterval: members killed with SIGKILL
// (a crash loop, a node lost) leave more entries pending than one
// member's prefetch. The survivor takes them all once they are idle for
// claim-min-idle, as fast as it handles them, not prefetch entries per
// claim-interval: before, 400 entries of a dead member took a member with
// prefetch 20 and claim-interval 2s twenty rounds (about 40s); a crash
// test of five SIGKILLs with the defaults (prefetch 128, claim-interval 5s)
// took 45s where claim-min-idle + claim-interval is 35s.
func TestReclaimBacklogNotPacedByClaimInterval(t *testing.T) {
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	dest := "reclaimbacklog"
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	p := bindProducer(t, e.binder(t, map[string]any{"client-name": e.name + "-p"}),
		stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	sent := ids("m", 400)
	send(t, p, sent)
	// A member reads them all and dies without acknowledging any.
	res, err := admin.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "dead-member", Streams: []string{key, ">"}, Count: 1000}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != len(sent) {
		t.Fatalf("the dead member's read: %v (%d streams)", err, len(res))
	}
	const minIdle = 300 * time.Millisecond
	time.Sleep(minIdle) // the entries are idle long enough at once; the Start's reclaim may take the first ones

	tr := newTracker()
	start := time.Now()
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4},
		Extension: map[string]any{"prefetch": 20, "claim-min-idle": minIdle.String(), "claim-interval": "2s"},
		Handler:   func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	// One claim-interval plus slack for a loaded machine; paced by
	// claim-interval it would take 19 more rounds (38s).
	tr.wait(t, sent, 8*time.Second)
	t.Logf("%d entries of a dead member handled in %v", len(sent), time.Since(start).Round(time.Millisecond))
	waitFor(t, 5*time.Second, "nothing pending", func() bool {
		s, err := admin.XPending(ctx, key, "g").Result()
		return err == nil && s.Count == 0
	})
}
