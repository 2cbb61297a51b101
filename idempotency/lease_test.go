package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestLeaseRenewedWhileHandlerRuns: a handler that runs for several
// leases keeps its key (the lease is renewed), so a duplicate received by
// a second instance meanwhile waits and is then skipped — on Redis and in
// memory. Without renewal the duplicate would take the key once the first
// lease ran out and run the handler.
func TestLeaseRenewedWhileHandlerRuns(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			br := newBroker(t, "memory")
			st := newStores(t, store)
			// Renewed every lease/3: a lease of 200ms lapsed in CI under
			// load (a renewal more than 133ms late), which no lease can
			// survive; 1s tolerates a 666ms stall.
			st.lease = time.Second
			entered := make(chan call, 10)
			release := make(chan struct{})
			h := func(ctx context.Context, m stream.Message[order]) error {
				entered <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			a1 := startApp(t, br, st, appSpec{store: store, group: "-", handler: h})
			a2 := startApp(t, br, st, appSpec{store: store, group: "-", handler: h})
			a1.send(t, uniqueID(t, "a"), 1)
			receive(t, entered, 30*time.Second)
			select {
			case c := <-entered:
				t.Fatalf("the duplicate ran while the first held a renewed lease: %+v", c)
			case <-time.After(3 * st.lease):
			}
			close(release)
			waitFor(t, 30*time.Second, "the duplicate skipped", func() bool {
				return a1.idem.Stats("handle-in-0").Skipped+a2.idem.Stats("handle-in-0").Skipped == 1
			})
		})
	}
}

// TestDeadHoldersLeaseRunsOut: a key leased by a delivery whose process
// died (nobody renews or releases it) is taken by the next delivery once
// the lease ran out, not before: the handler runs then (the documented
// window: a crash after the handler's success and before the mark runs it
// again).
func TestDeadHoldersLeaseRunsOut(t *testing.T) {
	t.Parallel()
	br := newBroker(t, "memory")
	st := newStores(t, "redis")
	calls := make(chan time.Time, 10)
	ta := startApp(t, br, st, appSpec{store: "redis", handler: func(context.Context, stream.Message[order]) error {
		calls <- time.Now()
		return nil
	}})
	id := uniqueID(t, "a")
	const left = 700 * time.Millisecond
	start := time.Now()
	if err := st.redis.Set(context.Background(), st.prefix+"handle-in-0:"+id, "lease:dead", left).Err(); err != nil {
		t.Fatal(err)
	}
	ta.send(t, id, 1)
	var at time.Time
	select {
	case at = <-calls:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not run within 30s")
	}
	if waited := at.Sub(start); waited < left {
		t.Fatalf("the handler ran %s after the dead lease was set, before it ran out (%s)", waited, left)
	}
	waitStats(t, ta, 0, 1)
	ttl, err := st.redis.PTTL(context.Background(), st.prefix+"handle-in-0:"+id).Result()
	if err != nil || ttl < 59*time.Minute {
		t.Fatalf("the mark's TTL is %s (%v), want about the retention, 1h", ttl, err)
	}
}

// TestOwnConnections: New opens the stores' connections from
// idempotency.postgres.dsn and idempotency.redis.url, and the app closes
// them when it stops (goleak checks nothing is left running).
func TestOwnConnections(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"postgres", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			st := newStores(t, store)
			st.own = true
			calls := make(chan call, 10)
			ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: store, handler: func(_ context.Context, m stream.Message[order]) error {
				calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
				return nil
			}})
			id := uniqueID(t, "a")
			ta.send(t, id, 1)
			ta.send(t, id, 1)
			ta.send(t, uniqueID(t, "b"), 2)
			receive(t, calls, 30*time.Second)
			receive(t, calls, 30*time.Second)
			waitStats(t, ta, 1, 2)
			ta.stop()
		})
	}
}
