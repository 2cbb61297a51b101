package idempotency_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// oddIDs are message ids a binder carries (Kafka header values are raw
// bytes) that PostgreSQL text cannot hold (invalid UTF-8, NUL) or its
// index cannot (longer than about 2.7 KB), and one that looks hashed.
var oddIDs = []struct{ name, id string }{
	{"binary-uuid", string([]byte{0x8f, 0x00, 0x1c, 0xe2, 0x9a, 0x11, 0x4b, 0x70, 0xa0, 0x01, 0xff, 0x10, 0x22, 0x33, 0x44, 0x55})},
	{"invalid-utf8", "\xff\xfe"},
	{"nul", "a\x00b"},
	{"long", strings.Repeat("y", 3000)},
	{"very-long", strings.Repeat("z", 100000)},
	{"hashed-prefix", idempotency.HashedKeyPrefix + "00"},
	{"max-plain", strings.Repeat("é", idempotency.MaxPlainKey/2)},
	{"plain", "plain-1"},
}

// wantStored is the key a store keeps for id: id itself, or its hash.
func wantStored(id string) string {
	if id == "plain-1" || strings.HasPrefix(id, "é") {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return idempotency.HashedKeyPrefix + hex.EncodeToString(sum[:])
}

// TestOddKeys: every store takes any key bytes — a binary UUID, invalid
// UTF-8, NUL, 3 KB and 100 KB keys: each message runs once, its duplicate
// is skipped, nothing fails and the store stays up in readiness. Long and
// binary keys are stored hashed.
func TestOddKeys(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, store, broker string }{
		{"postgres", "postgres", "memory"},
		{"postgres-sql", "postgres", "memory"},
		{"postgres-kafka", "postgres", "kafka"},
		{"redis", "redis", "memory"},
		{"memory", "memory", "memory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStores(t, tc.store)
			if tc.name == "postgres-sql" {
				db, err := sql.Open("pgx", outboxtest.DSN())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				st.sqlDB = db
			}
			var mu sync.Mutex
			calls := map[string]int{}
			ta := startApp(t, newBroker(t, tc.broker), st, appSpec{store: tc.store, consumer: "dlq: true, ", handler: func(_ context.Context, m stream.Message[order]) error {
				mu.Lock()
				calls[m.Headers.Get(stream.HeaderID)]++
				mu.Unlock()
				return nil
			}})
			for _, o := range oddIDs {
				ta.send(t, o.id, 1)
			}
			n := int64(len(oddIDs))
			waitFor(t, 30*time.Second, "every message processed", func() bool { return ta.idem.Stats("handle-in-0").Processed >= n })
			for _, o := range oddIDs {
				ta.send(t, o.id, 2)
			}
			waitFor(t, 30*time.Second, "every duplicate skipped", func() bool { return ta.idem.Stats("handle-in-0").Skipped >= n })
			waitStats(t, ta, n, n)
			mu.Lock()
			for _, o := range oddIDs {
				if calls[o.id] != 1 {
					t.Errorf("%s: handler ran %d times, want 1", o.name, calls[o.id])
				}
			}
			if len(calls) != len(oddIDs) {
				t.Errorf("handler saw %d ids, want %d: a binder changed an id", len(calls), len(oddIDs))
			}
			mu.Unlock()
			assertNotFailed(t, ta)
			for _, h := range ta.app.Health(context.Background()) {
				if !h.Up {
					t.Errorf("readiness: %s down: %s", h.Name, h.Error)
				}
			}
			ctx := context.Background()
			switch tc.store {
			case "postgres":
				rows, err := st.pool.Query(ctx, "SELECT key FROM "+st.schema+".marks")
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for rows.Next() {
					var k string
					if err := rows.Scan(&k); err != nil {
						t.Fatal(err)
					}
					got[k] = true
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				for _, o := range oddIDs {
					if !got[wantStored(o.id)] {
						t.Errorf("%s: no mark %q in %v", o.name, wantStored(o.id), got)
					}
				}
			case "redis":
				for _, o := range oddIDs {
					k := st.prefix + "handle-in-0:" + wantStored(o.id)
					if v, err := st.redis.Get(ctx, k).Result(); err != nil || v != "done" {
						t.Errorf("%s: redis key %q: %q, %v; want done", o.name, k, v, err)
					}
				}
			}
		})
	}
}

// TestMarkRefusedIsPermanent: a mark the server refuses for its values
// (here a CHECK constraint, SQLSTATE 23514; class 22 likewise) is the
// message's fault: it is dead-lettered at once, without running the
// handler and without retries, and the store stays up for the others.
func TestMarkRefusedIsPermanent(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	if _, err := st.pool.Exec(context.Background(), "ALTER TABLE "+st.schema+".marks ADD CONSTRAINT refused CHECK (key <> 'refused')"); err != nil {
		t.Fatal(err)
	}
	calls := make(chan call, 10)
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", consumer: "dlq: true, ", handler: func(_ context.Context, m stream.Message[order]) error {
		calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
		return nil
	}})
	ta.send(t, "refused", 1)
	b := ta.app.Binding("handle-in-0")
	waitFor(t, 30*time.Second, "the message dead-lettered", func() bool { return b.Stats().DeadLettered == 1 })
	ta.send(t, "fine", 2)
	if c := receive(t, calls, 30*time.Second); c != (call{"fine", 2}) {
		t.Fatalf("call %+v, want fine 2", c)
	}
	waitStats(t, ta, 0, 1)
	if e := componentError(ta.app, "idempotency:"+st.schema+".marks"); e != "" {
		t.Fatalf("readiness down after a refused mark: %s", e)
	}
	if s := b.Stats(); s.DeadLettered != 1 || s.Failed != 1 {
		t.Fatalf("binding stats %+v: want the refused message dead-lettered, once", s)
	}
}

// TestConnectionLostDuringHandler: the store's connection dies while the
// handler runs (pg_terminate_backend, as a PostgreSQL restart or failover
// does): the commit fails with FATAL 57P01, or the handler's own write
// through the transaction fails. That is the store's failure, not the
// message's: with max-attempts 1 and dlq the message is not dead-lettered
// but redelivered, and its second run commits — its write once.
func TestConnectionLostDuringHandler(t *testing.T) {
	t.Parallel()
	for _, drv := range []string{"pgx", "sql"} {
		for _, where := range []string{"commit", "handler-write"} {
			t.Run(drv+"/"+where, func(t *testing.T) {
				t.Parallel()
				ctl, schema := outboxtest.Schema(t)
				ctx := context.Background()
				if err := idempotency.Migrate(ctx, ctl, schema+".marks"); err != nil {
					t.Fatal(err)
				}
				if _, err := ctl.Exec(ctx, "CREATE TABLE "+schema+".effects (n int NOT NULL)"); err != nil {
					t.Fatal(err)
				}
				var b [6]byte
				_, _ = rand.Read(b[:])
				appName := "fixidem_" + hex.EncodeToString(b[:])
				pc, err := pgxpool.ParseConfig(outboxtest.DSN())
				if err != nil {
					t.Fatal(err)
				}
				pc.ConnConfig.RuntimeParams["application_name"] = appName
				st := &stores{schema: schema, pool: ctl}
				if drv == "pgx" {
					pool, err := pgxpool.NewWithConfig(ctx, pc)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(pool.Close)
					st.pool = pool
				} else {
					db := stdlib.OpenDB(*pc.ConnConfig)
					t.Cleanup(func() { db.Close() })
					st.sqlDB = db
				}
				write := func(ctx context.Context, n int) error {
					q := "INSERT INTO " + schema + ".effects (n) VALUES ($1)"
					var err error
					if tx := idempotency.Tx(ctx); tx != nil {
						_, err = tx.Exec(ctx, q, n)
					} else {
						_, err = idempotency.SQLTx(ctx).ExecContext(ctx, q, n)
					}
					if err != nil {
						return fmt.Errorf("write effect: %w", err)
					}
					return nil
				}
				running, release := make(chan struct{}), make(chan struct{})
				var first atomic.Bool
				var calls atomic.Int64
				ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", attempts: 1, consumer: "dlq: true, ", handler: func(ctx context.Context, m stream.Message[order]) error {
					calls.Add(1)
					if !first.CompareAndSwap(false, true) {
						return write(ctx, m.Payload.N)
					}
					if where == "commit" {
						if err := write(ctx, m.Payload.N); err != nil {
							return err
						}
					}
					close(running)
					<-release
					if where == "handler-write" {
						err := write(ctx, m.Payload.N)
						if err == nil {
							return errors.New("the write on a terminated connection succeeded")
						}
						return err
					}
					return nil
				}})
				ta.send(t, uniqueID(t, "a"), 7)
				select {
				case <-running:
				case <-time.After(30 * time.Second):
					t.Fatal("handler not called")
				}
				var pid int
				if err := ctl.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state LIKE 'idle in transaction%'", appName).Scan(&pid); err != nil {
					close(release)
					t.Fatalf("the store's backend in transaction: %v", err)
				}
				if _, err := ctl.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
					close(release)
					t.Fatal(err)
				}
				// The handler goes on once the backend is gone.
				waitFor(t, 10*time.Second, "the backend gone", func() bool {
					var n int
					err := ctl.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n)
					return err == nil && n == 0
				})
				close(release)
				waitFor(t, 30*time.Second, "the message handled or dead-lettered", func() bool {
					return ta.idem.Stats("handle-in-0").Processed > 0 || ta.app.Binding("handle-in-0").Stats().DeadLettered > 0
				})
				assertNotFailed(t, ta)
				waitStats(t, ta, 0, 1)
				if n := calls.Load(); n != 2 {
					t.Fatalf("handler ran %d times, want 2 (the lost attempt and its redelivery)", n)
				}
				if n := st.count(t, "effects"); n != 1 {
					t.Fatalf("%d effects, want 1", n)
				}
				assertNotFailed(t, ta)
			})
		}
	}
}

// TestMisshapenTableIsAStoreFault: a marks table whose columns are not
// Migrate's (made by hand: a binding column too short for the binding's
// name) refuses every mark with a class 22 error that is not the
// message's: the message is left for redelivery and readiness names the
// table, rather than every message of the binding failing for good
// (dead-lettered, or dropped without dlq). Once the table is fixed the
// message runs once.
func TestMisshapenTableIsAStoreFault(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	ctx := context.Background()
	ta, calls, id, e := startOnHandMadeTable(t, st, "short_marks", "binding varchar(4) NOT NULL, key text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (binding, key)", "a")
	if !strings.Contains(e, "columns are not those idempotency.Migrate makes") {
		t.Errorf("readiness: %s; want it to say the table's columns are wrong", e)
	}
	b := ta.app.Binding("handle-in-0")
	if s := b.Stats(); s.DeadLettered != 0 || s.Failed != 0 {
		t.Fatalf("binding stats %+v: the message failed for the table's fault", s)
	}
	if _, err := st.pool.Exec(ctx, "ALTER TABLE "+st.table+" ALTER COLUMN binding TYPE text"); err != nil {
		t.Fatal(err)
	}
	if c := receive(t, calls, 30*time.Second); c != (call{id, 1}) {
		t.Fatalf("call %+v, want %s 1", c, id)
	}
	waitStats(t, ta, 0, 1)
	if s := b.Stats(); s.DeadLettered != 0 {
		t.Fatalf("binding stats %+v: want nothing dead-lettered", s)
	}
}
