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

// TestReclaimBacklogTrimmedNotPacedByClaimInterval: the oldest entries of
// a dead member's backlog were trimmed from the stream (max-length, a
// crash loop that outlasted it). XCLAIM (Redis 7) drops deleted entries
// from the group's pending list and returns none of them, so a page made
// only of them claims nothing; the next page is still taken at once, not
// a claim-interval later: before, 300 trimmed entries ahead of 100 live
// ones took 15 pages of prefetch 20, one per claim-interval of 2s (30s).
func TestReclaimBacklogTrimmedNotPacedByClaimInterval(t *testing.T) {
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	dest := "reclaimtrimmed"
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	p := bindProducer(t, e.binder(t, map[string]any{"client-name": e.name + "-p"}),
		stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	sent := ids("m", 400)
	send(t, p, sent)
	res, err := admin.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "dead-member", Streams: []string{key, ">"}, Count: 1000}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != len(sent) {
		t.Fatalf("the dead member's read: %v (%d streams)", err, len(res))
	}
	if err := admin.XTrimMaxLen(ctx, key, 100).Err(); err != nil {
		t.Fatal(err)
	}
	const minIdle = 300 * time.Millisecond
	time.Sleep(minIdle) // the entries are idle long enough at once

	tr := newTracker()
	start := time.Now()
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g",
		Extension: map[string]any{"prefetch": 20, "claim-min-idle": minIdle.String(), "claim-interval": "2s"},
		Handler:   func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	// One claim-interval plus slack for a loaded machine; paced by
	// claim-interval it would take 15 rounds (30s).
	tr.wait(t, sent[300:], 8*time.Second)
	t.Logf("100 live entries behind 300 trimmed ones handled in %v", time.Since(start).Round(time.Millisecond))
	if n := tr.count(sent[:300]); n > 0 {
		t.Errorf("%d trimmed entries handled", n)
	}
	waitFor(t, 5*time.Second, "nothing pending", func() bool {
		s, err := admin.XPending(ctx, key, "g").Result()
		return err == nil && s.Count == 0
	})
}
