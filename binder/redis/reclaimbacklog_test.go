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
	t.Parallel()
	b := newBacklog(t, "reclaimbacklog", 400)
	b.idle() // the Start's reclaim may take the first ones
	tr := newTracker()
	start := time.Now()
	b.bindSurvivor(t, 4, tr)
	// One claim-interval plus slack for a loaded machine; paced by
	// claim-interval it would take 19 more rounds (38s).
	tr.wait(t, b.sent, 8*time.Second)
	t.Logf("%d entries of a dead member handled in %v", len(b.sent), time.Since(start).Round(time.Millisecond))
	b.waitNothingPending(t)
}

// TestReclaimBacklogTrimmedNotPacedByClaimInterval: the oldest entries of
// a dead member's backlog were trimmed from the stream (max-length, a
// crash loop that outlasted it). XCLAIM (Redis 7) drops deleted entries
// from the group's pending list and returns none of them, so a page made
// only of them claims nothing; the next page is still taken at once, not
// a claim-interval later: before, 300 trimmed entries ahead of 100 live
// ones took 15 pages of prefetch 20, one per claim-interval of 2s (30s).
func TestReclaimBacklogTrimmedNotPacedByClaimInterval(t *testing.T) {
	t.Parallel()
	b := newBacklog(t, "reclaimtrimmed", 400)
	if err := b.admin.XTrimMaxLen(context.Background(), b.key, 100).Err(); err != nil {
		t.Fatal(err)
	}
	b.idle()
	tr := newTracker()
	start := time.Now()
	b.bindSurvivor(t, 0, tr)
	// One claim-interval plus slack for a loaded machine; paced by
	// claim-interval it would take 15 rounds (30s).
	tr.wait(t, b.sent[300:], 8*time.Second)
	t.Logf("100 live entries behind 300 trimmed ones handled in %v", time.Since(start).Round(time.Millisecond))
	if n := tr.count(b.sent[:300]); n > 0 {
		t.Errorf("%d trimmed entries handled", n)
	}
	b.waitNothingPending(t)
}

// backlog is n entries of destination dest in group g that a member read
// and then died without acknowledging.
type backlog struct {
	e     env
	admin *goredis.Client
	dest  string
	key   string
	sent  []string
}

// backlogMinIdle is the survivor's claim-min-idle.
const backlogMinIdle = 300 * time.Millisecond

func newBacklog(t *testing.T, dest string, n int) *backlog {
	e := newEnv(t)
	b := &backlog{e: e, admin: redistest.Client(t, redistest.Addr(), "", ""), dest: dest, key: redisbinder.StreamKey(e.prefix, dest, -1), sent: ids("m", n)}
	p := bindProducer(t, e.binder(t, map[string]any{"client-name": e.name + "-p"}),
		stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	send(t, p, b.sent)
	res, err := b.admin.XReadGroup(context.Background(), &goredis.XReadGroupArgs{Group: "g", Consumer: "dead-member", Streams: []string{b.key, ">"}, Count: int64(n) + 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != n {
		t.Fatalf("the dead member's read: %v (%d streams)", err, len(res))
	}
	return b
}

// idle waits until the entries are idle for the survivor's claim-min-idle,
// all at once (idleness is time on the server: nothing to wait on).
func (b *backlog) idle() { time.Sleep(backlogMinIdle) }

// bindSurvivor binds the group's surviving member: prefetch 20,
// claim-interval 2s, concurrency conc (0: the default).
func (b *backlog) bindSurvivor(t *testing.T, conc int, tr *tracker) {
	bindConsumer(t, b.e.binder(t, nil), stream.ConsumerSpec{Destination: b.dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: conc},
		Extension: map[string]any{"prefetch": 20, "claim-min-idle": backlogMinIdle.String(), "claim-interval": "2s"},
		Handler:   func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
}

func (b *backlog) waitNothingPending(t *testing.T) {
	waitFor(t, 5*time.Second, "nothing pending", func() bool {
		s, err := b.admin.XPending(context.Background(), b.key, "g").Result()
		return err == nil && s.Count == 0
	})
}
