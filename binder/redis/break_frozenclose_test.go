package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakFrozenStopBoundedByCommandTimeout: Redis does not answer (the
// test's proxy throws away what either side sends, sockets kept open:
// unlike Freeze, the acknowledgements never reach Redis, not even late)
// while a group member's handlers finish messages. The consumer's Stop, and the binder's Close, each given 8s, give
// up the acknowledgements (and the CLIENT UNBLOCK of the read in flight)
// after about command-timeout (1s here) and say so, rather than retrying
// for their whole ctx: before, both took the whole ctx (30s of 30s,
// measured, the same with Freeze) and returned "still acknowledging and
// giving back entries". Nothing is lost: once Redis answers again another
// member takes the entries whose acknowledgements were given up and
// handles them again, and nothing stays pending.
func TestBreakFrozenStopBoundedByCommandTimeout(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"Stop", "binder Close"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			px := newHoleProxy(t)
			const commandTimeout = time.Second
			b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name,
				"command-timeout": commandTimeout.String(), "dial-timeout": "1s"})
			const held = 3
			release := make(chan struct{})
			took := make(chan string, 100)
			tr := newTracker()
			cons := bindConsumer(t, b, stream.ConsumerSpec{Destination: "frozen", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: held},
				Handler: func(_ context.Context, m stream.Envelope) error {
					id := m.Headers[idHeader]
					if strings.HasPrefix(id, "held") {
						took <- id
						<-release
					}
					tr.receive(id)
					return nil
				}})
			p := bindProducer(t, b, stream.ProducerSpec{Destination: "frozen"})
			before := ids("before", 5)
			send(t, p, before)
			tr.wait(t, before, 10*time.Second)
			heldIDs := ids("held", held)
			send(t, p, heldIDs)
			for range held {
				select {
				case <-took:
				case <-time.After(10 * time.Second):
					t.Fatal("the held messages were not delivered")
				}
			}
			px.p.Drop(true)
			t.Cleanup(func() { px.p.Drop(false); px.p.Cut() })
			time.AfterFunc(100*time.Millisecond, func() { close(release) }) // handled now: acks unanswered

			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			start := time.Now()
			var err error
			if how == "Stop" {
				err = cons.Stop(ctx)
			} else {
				err = b.Close(ctx)
			}
			elapsed := time.Since(start)
			t.Logf("%s with Redis not answering: %v (err %v)", how, elapsed, err)
			// CLIENT UNBLOCK unanswered (1s), then the acknowledgements (1s).
			if bound := 4 * commandTimeout; elapsed > bound {
				t.Errorf("%s with Redis not answering took %v; want at most %v (command-timeout %v, ctx 8s)", how, elapsed, bound, commandTimeout)
			}
			if err == nil || !strings.Contains(err.Error(), "may be delivered again") {
				t.Errorf("%s: %v; want an error saying the handled entries may be delivered again", how, err)
			}
			if tr.count(heldIDs) != held {
				t.Fatalf("handled %d of the %d held messages", tr.count(heldIDs), held)
			}

			// Redis answers again: another member reclaims the entries whose
			// acknowledgements were given up and handles them again.
			px.p.Drop(false)
			px.p.Cut() // the connections lost bytes
			again := newTracker()
			bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: "frozen", Group: "g",
				Extension: map[string]any{"claim-min-idle": "500ms", "claim-interval": "100ms"},
				Handler:   func(_ context.Context, m stream.Envelope) error { again.receive(m.Headers[idHeader]); return nil }})
			admin := redistest.Client(t, redistest.Addr(), "", "")
			key := redisbinder.StreamKey(e.prefix, "frozen", -1)
			waitFor(t, 10*time.Second, "nothing pending", func() bool {
				s, err := admin.XPending(context.Background(), key, "g").Result()
				return err == nil && s.Count == 0
			})
			if n := again.count(heldIDs); n != held {
				t.Errorf("%d of the %d held messages, whose acknowledgements were given up, delivered again", n, held)
			}
		})
	}
}
