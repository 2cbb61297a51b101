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

// TestHoldLimitAcrossPartitions: a member reading a destination with 8
// partitions (9 streams) whose hold limit is 1 (a 100 ms handler with
// claim-min-idle 1s, concurrency 1) holds about 1 entry, not one of
// every stream: XREADGROUP's COUNT applies to each stream, and a COUNT
// of at least 1 on each of the 9 took up to 9 entries a read — a crash
// left them all for claim-min-idle, and the last waited 800 ms in memory
// where the limit allows 100.
func TestHoldLimitAcrossPartitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const (
		dest  = "holdparts"
		parts = 8
		each  = 3
	)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	var keys []string
	var sent []string
	for p := range parts {
		k := redisbinder.StreamKey(e.prefix, dest, p)
		keys = append(keys, k)
		batch := ids("p"+itoa(p), each)
		xaddBurst(t, admin, k, batch)
		sent = append(sent, batch...)
	}
	tr := newTracker()
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g",
		Extension: map[string]any{"partition-count": parts, "claim-min-idle": "1s"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			time.Sleep(100 * time.Millisecond)
			tr.receive(m.Headers[idHeader])
			return nil
		}})
	stop := sampleMax(func() (sum int64) {
		for _, k := range keys {
			if p, err := admin.XPending(ctx, k, "g").Result(); err == nil {
				sum += p.Count
			}
		}
		return sum
	})
	tr.wait(t, sent, 30*time.Second)
	most := stop()
	t.Logf("at most %d pending with the member", most)
	// The limit (1), an entry whose acknowledgement is on its way, slack.
	if most > 3 {
		t.Errorf("the member held %d entries pending at once across %d partition streams; want at most 3 (hold limit 1)", most, parts)
	}
}

// xaddBurst writes ids to stream key in one pipeline, as a producer
// would write them: a consumer waiting in a read gets them in one reply.
func xaddBurst(t *testing.T, admin *goredis.Client, key string, sent []string) {
	t.Helper()
	ctx := context.Background()
	pipe := admin.Pipeline()
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
}
