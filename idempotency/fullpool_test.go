package idempotency_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestDuplicateWaitsWithFullPool: with the store's pool sized to the
// bindings' concurrency, as the docs recommend (2 apps x concurrency 1:
// 2 connections, both in use — the first delivery's handler, the
// duplicate's waiting insert), a duplicate delivered while the first
// delivery's handler runs waits on the mark's lock, beyond
// storeProbeTimeout, without the store reported unavailable; the purge
// waits for a connection rather than fail. (The "is the database alive"
// ping went through the pool: it got no connection within 5s, and the
// waiting duplicate was ended as "store unavailable", readiness down,
// after ~5.2s; the purge's wait for a connection was bounded by the store
// timeout.)
func TestDuplicateWaitsWithFullPool(t *testing.T) {
	for _, driver := range []string{"pgx", "database-sql"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			st := newStores(t, "postgres")
			// Not 200ms, as it was: under CI's load a delivery's BEGIN
			// found no free connection within it (each app's purge, which
			// runs as the app starts, holds one while it runs), and the
			// store reported down before the case this test is about.
			st.storeTimeout = time.Second
			st.purgeInterval = time.Second
			var logs syncbuf.Buffer
			st.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			if driver == "pgx" {
				cfg, err := pgxpool.ParseConfig(outboxtest.DSN())
				if err != nil {
					t.Fatal(err)
				}
				cfg.MaxConns = 2
				pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(pool.Close) // after the apps stopped
				st.storePool = pool
			} else {
				db, err := sql.Open("pgx", outboxtest.DSN())
				if err != nil {
					t.Fatal(err)
				}
				db.SetMaxOpenConns(2)
				t.Cleanup(func() { db.Close() })
				st.sqlDB = db
			}
			h, entered, release := holdingHandlerOf(func(ctx context.Context, n int) error { return txEffect(ctx, st, n) })
			br := newBroker(t, "memory")
			a1 := startApp(t, br, st, appSpec{store: "postgres", group: "-", handler: h})
			a2 := startApp(t, br, st, appSpec{store: "postgres", group: "-", handler: h})
			a1.send(t, uniqueID(t, "a"), 1)
			receive(t, entered, 30*time.Second)
			waitMarkLockWaiter(t, st, "the duplicate's insert waiting on the mark's lock")
			// Beyond the first ping (after the store timeout) and its own
			// bound (5s): the wait goes on, the store stays up.
			for end := time.Now().Add(st.storeTimeout + 6500*time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				storeStaysUp(t, st, "a duplicate waits for the first delivery, the pool full", a1, a2)
			}
			close(release)
			waitSkippedAndStop(t, a1, a2)
			if n := st.count(t, "effects"); n != 1 {
				t.Fatalf("%d effects, want 1", n)
			}
			if l := logs.String(); strings.Contains(l, "store unavailable") || strings.Contains(l, "purge") {
				t.Errorf("a duplicate's wait with the pool full was logged as a failure:\n%s", l)
			}
		})
	}
}
