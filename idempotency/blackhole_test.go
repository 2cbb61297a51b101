package idempotency_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// storeHealth is the readiness entry of the postgres store of st.
func storeHealth(t testing.TB, ta *testApp, st *stores) stream.BinderHealth {
	t.Helper()
	for _, h := range ta.app.Health(context.Background()) {
		if h.Name == "idempotency:"+st.schema+".marks" {
			return h
		}
	}
	t.Fatalf("App.Health does not list the store idempotency:%s.marks", st.schema)
	return stream.BinderHealth{}
}

// TestBlackHoledStoreFailsWithinStoreTimeout: a database that stops
// answering without closing the connection (a hung server, a network that
// drops packets: here a proxy that forwards nothing and keeps its
// sockets) fails the message within Options.StoreTimeout — left for
// redelivery, readiness down — and once the database answers again the
// message runs once. (The store used to wait for the answer to its BEGIN
// for as long as the socket lived: readiness up, the message and its
// binding's slot held for ever.)
func TestBlackHoledStoreFailsWithinStoreTimeout(t *testing.T) {
	st := newStores(t, "postgres")
	px := outboxtest.BlackHole(t)
	pool, err := pgxpool.New(context.Background(), px.DSN(t, "idem_blackhole"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after the app stopped
	st.storePool, st.storeTimeout = pool, time.Second
	calls := make(chan call, 10)
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", consumer: "dlq: true, ", handler: func(ctx context.Context, m stream.Message[order]) error {
		if _, err := idempotency.Tx(ctx).Exec(ctx, "INSERT INTO "+st.schema+".effects (n) VALUES ($1)", m.Payload.N); err != nil {
			return err
		}
		calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
		return nil
	}})
	ta.send(t, uniqueID(t, "1"), 1)
	receive(t, calls, 30*time.Second)
	waitStats(t, ta, 0, 1) // committed: the pool's connection is idle

	px.Freeze()
	frozen := time.Now()
	ta.send(t, uniqueID(t, "2"), 2)
	var h stream.BinderHealth
	waitFor(t, 15*time.Second, "readiness to report the store down", func() bool {
		h = storeHealth(t, ta, st)
		return !h.Up
	})
	took := time.Since(frozen)
	t.Logf("down after %s: %s", took.Round(time.Millisecond), h.Error)
	if !strings.Contains(h.Error, "did not answer in time") {
		t.Errorf("health: %s; want it to say the database did not answer in time", h.Error)
	}
	if took > 5*time.Second {
		t.Errorf("down only after %s; want about the store timeout (1s)", took)
	}

	px.Thaw()
	if c := receive(t, calls, 30*time.Second); c.n != 2 {
		t.Errorf("after the thaw the handler ran %+v, want order 2", c)
	}
	waitStats(t, ta, 0, 2)
	waitFor(t, 15*time.Second, "readiness to report the store up again", func() bool { return storeHealth(t, ta, st).Up })
	if n := st.count(t, "effects"); n != 2 {
		t.Errorf("%d effects, want 2", n)
	}
	if s := ta.app.Binding("handle-in-0").Stats(); s.Failed != 0 {
		t.Errorf("binding stats %+v: want no failure (no attempt counted, nothing dead-lettered)", s)
	}
}

// TestLongConcurrentDuplicateWaits: a duplicate delivered while the first
// delivery's handler runs longer than Options.StoreTimeout waits on the
// mark's row lock for as long as that handler runs — the store timeout
// does not end a wait the database answers for — and is then skipped:
// the store stays up, its insert keeps its one backend (an insert ended
// by the client would leave its backend waiting on the lock, and the
// redelivery would add another).
func TestLongConcurrentDuplicateWaits(t *testing.T) {
	br := newBroker(t, "memory")
	st := newStores(t, "postgres")
	st.storeTimeout = 200 * time.Millisecond
	h, entered, release := holdingHandler(st, "postgres")
	a1 := startApp(t, br, st, appSpec{store: "postgres", group: "-", handler: h})
	a2 := startApp(t, br, st, appSpec{store: "postgres", group: "-", handler: h})
	a1.send(t, uniqueID(t, "a"), 1)
	receive(t, entered, 30*time.Second)
	waiting := func() []int {
		rows, err := st.pool.Query(context.Background(),
			"SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO \""+st.schema+"\".\"marks\"%'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var pids []int
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		return pids
	}
	var first []int
	waitFor(t, 30*time.Second, "the duplicate's insert waiting on the mark's lock", func() bool {
		first = waiting()
		return len(first) == 1
	})
	// Five store timeouts: the wait goes on, on the same backend.
	for end := time.Now().Add(5 * st.storeTimeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if w := waiting(); len(w) != 1 || w[0] != first[0] {
			t.Fatalf("backends waiting on the mark's lock: %v, want only the first one %v", w, first)
		}
		storeStaysUp(t, st, "a duplicate waits for the first delivery", a1, a2)
	}
	close(release)
	waitSkippedAndStop(t, a1, a2)
	noDuplicateRan(t, entered)
	if n := st.count(t, "effects"); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}
}

// TestLockTimeoutOnDuplicateIsNotAStoreOutage: with a lock_timeout on the
// store's sessions (set on the role or the DSN), a duplicate delivered
// while the first delivery's handler runs has its mark's insert ended by
// the lock timeout: it is left for redelivery, and then skipped, without
// the store being reported unavailable (no warning, readiness up). It
// used to be logged and reported as a store outage at each redelivery.
func TestLockTimeoutOnDuplicateIsNotAStoreOutage(t *testing.T) {
	t.Parallel()
	br := newBroker(t, "memory")
	st := newStores(t, "postgres")
	dsn := outboxtest.DSNWithOptions("-c lock_timeout=50ms")
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after the apps stopped
	st.storePool = pool
	var logs syncbuf.Buffer
	st.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, entered, release := holdingHandler(st, "postgres")
	a1 := startApp(t, br, st, appSpec{store: "postgres", group: "-", handler: h})
	a2 := startApp(t, br, st, appSpec{store: "postgres", group: "-", handler: h})
	a1.send(t, uniqueID(t, "a"), 1)
	receive(t, entered, 30*time.Second)
	waitMarkLockWaiter(t, st, "the duplicate's insert waiting on the mark's lock")
	// Twenty lock timeouts: the duplicate's insert runs out of its
	// lock_timeout again and again; the store stays up.
	for end := time.Now().Add(20 * 50 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		storeStaysUp(t, st, "a duplicate waits for the first delivery", a1, a2)
	}
	close(release)
	waitSkippedAndStop(t, a1, a2)
	if n := st.count(t, "effects"); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}
	if strings.Contains(logs.String(), "store unavailable") {
		t.Errorf("a duplicate's lock timeout was logged as a store outage:\n%s", logs.String())
	}
}

// TestBlackHoledStoreProbeWithinStoreTimeout: once a purge failed,
// readiness looks at the marks' table again on each probe; against a
// database that stopped answering that look is bounded by the store
// timeout like every other store round trip, and says the database did
// not answer. (It waited 5s for a pool connection through the frozen path
// whatever the store timeout, and said only "context deadline exceeded".)
func TestBlackHoledStoreProbeWithinStoreTimeout(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	px := outboxtest.BlackHole(t)
	cfg, err := pgxpool.ParseConfig(px.DSN(t, "idem_blackhole_probe"))
	if err != nil {
		t.Fatal(err)
	}
	// No liveness ping on acquire: the purge's statement (bounded by the
	// store timeout) is what meets the frozen database, and fails.
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after the app stopped
	st.storePool, st.storeTimeout, st.purgeInterval = pool, time.Second, time.Second
	var logs syncbuf.Buffer
	st.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", handler: func(context.Context, stream.Message[order]) error { return nil }})
	waitFor(t, 15*time.Second, "the store up", func() bool { return storeHealth(t, ta, st).Up })

	// An idle connection in the pool: the purge's next statement goes out
	// on it rather than wait for a dial through the frozen path.
	// (The purge's first run, at start, may still be dialling: a dial
	// through the frozen path would wait for ever.)
	if _, err := pool.Exec(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the pool idle", func() bool {
		s := pool.Stat()
		return s.ConstructingConns() == 0 && s.AcquiredConns() == 0 && s.IdleConns() >= 1
	})
	px.Freeze()
	waitFor(t, 15*time.Second, "a purge to fail", func() bool {
		return strings.Contains(logs.String(), "purge of expired marks failed")
	})
	for range 2 {
		start := time.Now()
		h := storeHealth(t, ta, st)
		took := time.Since(start)
		t.Logf("probe: %s in %s", h.Error, took.Round(time.Millisecond))
		if h.Up || !strings.Contains(h.Error, "did not answer in time") {
			t.Errorf("health: up=%v %q; want down, saying the database did not answer in time", h.Up, h.Error)
		}
		if took > 3*time.Second {
			t.Errorf("the probe took %s; want about the store timeout (1s)", took)
		}
	}
	px.Thaw()
	waitFor(t, 30*time.Second, "readiness to report the store up again", func() bool { return storeHealth(t, ta, st).Up })
}
