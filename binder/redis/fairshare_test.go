package redis_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestGroupMembersShareABurst: two members of a group, a burst written at
// once, a slow handler (concurrency 1, the default prefetch 128). Each
// member handles a fair share, and neither holds more than a few entries
// at a time (what a crash of it would leave for claim-min-idle). Before,
// the member whose read came first took the whole burst but the entry
// the other got (a new-user trial: 23 of 24 with a 1 s handler, the other
// member idle for 23 s, and all of them waiting for claim-min-idle when
// the busy member was killed): here 23 of 24 too, and 22 pending with it.
func TestGroupMembersShareABurst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const (
		dest = "fairshare"
		n    = 24
		cost = 100 * time.Millisecond
	)
	// claim-min-idle 2s: the members hold what they start within 200ms
	// (see holdShare in consumer.go), one or two entries at this cost.
	ext := map[string]any{"claim-min-idle": "2s"}
	var mu sync.Mutex
	handled := map[string]int{}
	tr := newTracker()
	member := func(name string) stream.Handler {
		return func(_ context.Context, m stream.Envelope) error {
			time.Sleep(cost)
			mu.Lock()
			handled[name]++
			mu.Unlock()
			tr.receive(m.Headers[idHeader])
			return nil
		}
	}
	for _, name := range []string{"a", "b"} {
		bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Binding: name + "-in-0", Destination: dest, Group: "g",
			Handler: member(name), Extension: ext})
	}
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	// Both members wait in a blocking read before the burst.
	waitFor(t, 10*time.Second, "both members reading", func() bool {
		list, err := admin.ClientList(ctx).Result()
		blocked := 0
		for _, l := range strings.Split(list, "\n") {
			f := strings.Fields(l)
			if slices.Contains(f, "name="+e.name) && slices.Contains(f, "cmd=xreadgroup") && slices.ContainsFunc(f, func(s string) bool {
				return strings.HasPrefix(s, "flags=") && strings.Contains(s, "b")
			}) {
				blocked++
			}
		}
		return err == nil && blocked == 2
	})

	sent := ids("m", n)
	pipe := admin.Pipeline() // one write: the burst arrives at once
	for _, id := range sent {
		pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: []any{
			redisbinder.HeaderFieldPrefix + stream.HeaderContentType, "application/json",
			redisbinder.HeaderFieldPrefix + idHeader, id,
			redisbinder.FieldPayload, `{"id":"` + id + `"}`,
		}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	// What each member holds, sampled while the burst is handled.
	stop := sampleMax(func() (most int64) {
		if cs, err := admin.XInfoConsumers(ctx, key, "g").Result(); err == nil {
			for _, c := range cs {
				most = max(most, c.Pending)
			}
		}
		return most
	})
	tr.wait(t, sent, 30*time.Second)
	most := stop()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("handled %v; at most %d pending with a member", handled, most)
	for _, name := range []string{"a", "b"} {
		if handled[name] < n/4 {
			t.Errorf("member %s handled %d of %d (%v); want a fair share, at least %d", name, handled[name], n, handled, n/4)
		}
	}
	// The hold limit (1 or 2 here), plus an entry whose acknowledgement
	// is on its way, plus slack.
	if most > 5 {
		t.Errorf("a member held %d entries pending at once; want at most 5", most)
	}
}
