package redis_test

import (
	"context"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestHoldLimitOneRoute: concurrency 8, every message with one key (one
// route: one worker busy at a time), a 100 ms handler, claim-min-idle 2s
// (the member holds what it starts within 200 ms). Its limit is one
// call's worth a worker (8, the floor), not what 8 busy workers would
// start: 16, which its one busy worker started over 1.6 s — and a crash
// left them for claim-min-idle (with the default 30s and a 1s handler: 24
// entries, 24 s of work, where 3 are started within 3 s). Entries waiting
// behind their key's first count against the limit beyond the limit's
// worth only (TestSlowKeyDoesNotHoldBackOtherKeys): it holds 16 at most.
func TestHoldLimitOneRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const dest = "holdroute"
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	b := e.binder(t, nil)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 8},
		Extension: map[string]any{"claim-min-idle": "2s"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			time.Sleep(100 * time.Millisecond)
			tr.receive(m.Headers[idHeader])
			return nil
		}})
	sent := ids("m", 40)
	for _, id := range sent {
		m := msg(id)
		m.Key = []byte("k")
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	stop := sampleMax(func() int64 {
		if pd, err := admin.XPending(ctx, key, "g").Result(); err == nil {
			return pd.Count
		}
		return 0
	})
	tr.wait(t, sent, 30*time.Second)
	most := stop()
	t.Logf("at most %d pending with the member", most)
	// 8 (one call's worth a worker) and as many waiting behind them, an
	// acknowledgement on its way, slack; without the cost scaled to the
	// busy workers the limit was 16, and 32 were held.
	if most > 18 {
		t.Errorf("the member held %d entries of one route at once with concurrency 8; want at most 18 (the limit's floor 8, as many waiting behind their key's first)", most)
	}
}
