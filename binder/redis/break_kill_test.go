package redis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakKillWhileAcking: the consumer's connections (and only its:
// the producer is another binder's) are killed eight times while it
// handles and acknowledges a steady flow — inline (concurrency 1, whose
// acknowledgements ride the next XREADGROUP's pipeline), batch mode, and
// concurrency 4. Every message is handled, and once the flow ends nothing
// is left pending: no acknowledgement lost with a connection stays lost.
func TestBreakKillWhileAcking(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		cc    stream.ConsumerConfig
		batch bool
	}{
		{"inline", stream.ConsumerConfig{Concurrency: 1}, false},
		{"batch", stream.ConsumerConfig{Concurrency: 2, BatchMode: true}, true},
		{"concurrency4", stream.ConsumerConfig{Concurrency: 4}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			admin := redistest.Client(t, redistest.Addr(), "", "")
			ctx := context.Background()
			dest := "killack"
			key := redisbinder.StreamKey(e.prefix, dest, -1)
			p := bindProducer(t, newBinder(t, map[string]any{"address": redistest.Addr(), "key-prefix": e.prefix, "client-name": e.name + "-p"}),
				stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
			tr := newTracker()
			spec := stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: tc.cc}
			if tc.batch {
				spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
					for _, m := range ms {
						tr.receive(m.Headers[idHeader])
					}
					return nil
				}
			} else {
				spec.Handler = func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }
			}
			bindConsumer(t, e.binder(t, nil), spec)

			sent := ids("m", 3000)
			var wg sync.WaitGroup
			wg.Go(func() {
				for i, id := range sent {
					sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					if err := p.Send(sctx, msg(id)); err != nil {
						t.Errorf("send %s: %v", id, err)
					}
					cancel()
					if i%10 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			})
			kills := 0
			for i := range 8 {
				waitFor(t, 20*time.Second, fmt.Sprintf("%d handled", 300*(i+1)), func() bool { return tr.count(sent) >= 300*(i+1) })
				n, err := redistest.KillClients(ctx, admin, e.name)
				if err != nil {
					t.Fatal(err)
				}
				kills += n
			}
			wg.Wait()
			tr.wait(t, sent, 20*time.Second)
			waitFor(t, 10*time.Second, "nothing pending", func() bool {
				s, err := admin.XPending(ctx, key, "g").Result()
				return err == nil && s.Count == 0
			})
			t.Logf("%d connections killed", kills)
		})
	}
}
