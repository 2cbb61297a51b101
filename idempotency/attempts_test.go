package idempotency_test

// What counts as an attempt of the message rather than a store outage
// when the handler's own work broke its transaction (from an adversarial
// review): the server answered, so the message is retried per
// max-attempts and dead-lettered, and readiness stays up.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/internal/testproxy"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// exec runs q through the message's transaction, on pgx or database/sql.
func exec(ctx, qctx context.Context, q string) error {
	if tx := idempotency.Tx(ctx); tx != nil {
		_, err := tx.Exec(qctx, q)
		return err
	}
	if tx := idempotency.SQLTx(ctx); tx != nil {
		_, err := tx.ExecContext(qctx, q)
		return err
	}
	return errors.New("no transaction in the handler's context")
}

// onDrivers runs f with the postgres store on a pgx pool and on
// database/sql (pgx's stdlib driver).
func onDrivers(t *testing.T, f func(t *testing.T, st *stores)) {
	t.Run("pgx", func(t *testing.T) { f(t, newStores(t, "postgres")) })
	t.Run("database-sql", func(t *testing.T) {
		st := newStores(t, "postgres")
		db, err := sql.Open("pgx", outboxtest.DSN())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st.sqlDB = db
		f(t, st)
	})
}

// deadLetteredWithStoreUp waits up to 15s for the message to be
// dead-lettered, and fails if readiness reported the store down meanwhile.
func deadLetteredWithStoreUp(t *testing.T, ta *testApp, st *stores, calls *atomic.Int64, what string) {
	t.Helper()
	b := ta.app.Binding("handle-in-0")
	comp := "idempotency:" + st.schema + ".marks"
	var down string
	deadline := time.Now().Add(15 * time.Second)
	for b.Stats().DeadLettered == 0 && time.Now().Before(deadline) {
		if e := componentError(ta.app, comp); e != "" && down == "" {
			down = e
		}
		time.Sleep(20 * time.Millisecond) // polling the binding's counters
	}
	s := b.Stats()
	t.Logf("handler ran %d times, binding stats %+v, idempotency stats %+v", calls.Load(), s, ta.idem.Stats("handle-in-0"))
	if s.DeadLettered != 1 {
		t.Errorf("the message was not dead-lettered within 15s (handler ran %d times with max-attempts 2): %s is taken for a store outage and redelivered for ever", calls.Load(), what)
	}
	if down != "" {
		t.Errorf("readiness reported the store down because of %s: %s", what, down)
	}
}

// TestSwallowedTxErrorIsNotAStoreOutage: a handler whose statement
// through Tx(ctx) failed (a constraint, a division by zero) but which
// ignores the error and returns nil leaves the transaction aborted: the
// COMMIT answers ROLLBACK. That is a verdict on the message's work, like
// the "server's answer about the content" row of docs/idempotency.md: an
// attempt, retried up to max-attempts and then dead-lettered, with the
// store up. Taken for a store outage, the message is Nak'ed for ever
// (never counted, never dead-lettered: a poison message that blocks a
// Kafka partition) and readiness reports PostgreSQL down.
func TestSwallowedTxErrorIsNotAStoreOutage(t *testing.T) {
	t.Parallel()
	onDrivers(t, func(t *testing.T, st *stores) {
		var calls atomic.Int64
		ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", attempts: 2, consumer: "dlq: true, ", handler: func(ctx context.Context, _ stream.Message[order]) error {
			calls.Add(1)
			_ = exec(ctx, ctx, "SELECT 1/0") // the error swallowed: a handler bug
			return nil
		}})
		ta.send(t, uniqueID(t, "a"), 1)
		deadLetteredWithStoreUp(t, ta, st, &calls, "a handler's aborted transaction")
	})
}

// TestHandlerTimeoutIsNotAStoreOutage: a handler bounds its query through
// Tx(ctx) with a deadline of its own (a query that is too slow for this
// message) and returns the error. The database is fine; the message is
// slow. It is an attempt like any handler error — retried, then
// dead-lettered — and readiness stays up, although pgx closes a connection
// whose query's context ended.
func TestHandlerTimeoutIsNotAStoreOutage(t *testing.T) {
	t.Parallel()
	onDrivers(t, func(t *testing.T, st *stores) {
		var calls atomic.Int64
		ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", attempts: 2, consumer: "dlq: true, ", handler: func(ctx context.Context, _ stream.Message[order]) error {
			calls.Add(1)
			qctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			if err := exec(ctx, qctx, "SELECT pg_sleep(5)"); err != nil {
				return fmt.Errorf("report query too slow: %w", err)
			}
			return nil
		}})
		ta.send(t, uniqueID(t, "a"), 1)
		deadLetteredWithStoreUp(t, ta, st, &calls, "a handler's own timeout")
	})
}

// TestSwallowedHandlerTimeoutIsNotAStoreOutage: as above, but the handler
// ignores the error of its timed-out query and returns nil: the commit
// finds the connection closed. The server is up, so it is an attempt
// (pgx only: database/sql does not tell a closed connection before the
// commit, see docs/idempotency.md).
func TestSwallowedHandlerTimeoutIsNotAStoreOutage(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	var calls atomic.Int64
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", attempts: 2, consumer: "dlq: true, ", handler: func(ctx context.Context, _ stream.Message[order]) error {
		calls.Add(1)
		qctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_ = exec(ctx, qctx, "SELECT pg_sleep(5)") // the error swallowed
		return nil
	}})
	ta.send(t, uniqueID(t, "a"), 1)
	deadLetteredWithStoreUp(t, ta, st, &calls, "a handler's own swallowed timeout")
}

// TestHandlerTimeoutWithServerGoneIsAStoreOutage: the handler's own query
// deadline ends because the database stopped answering (every byte to and
// from it held, as in a network partition). That is the store's outage:
// the message is left for redelivery, not counted, and readiness is down.
func TestHandlerTimeoutWithServerGoneIsAStoreOutage(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	pc, err := pgxpool.ParseConfig(outboxtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	// Frozen, the proxy holds every byte both ways: a network partition of
	// this test's own connections only.
	px := testproxy.Start(t, net.JoinHostPort(pc.ConnConfig.Host, strconv.Itoa(int(pc.ConnConfig.Port))))
	host, port, _ := net.SplitHostPort(px.Addr())
	pc.ConnConfig.Host, pc.ConnConfig.Port = host, uint16(atoiT(t, port))
	pc.ConnConfig.Fallbacks = nil
	pc.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st.pool = pool
	var calls atomic.Int64
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", attempts: 2, consumer: "dlq: true, ", handler: func(ctx context.Context, _ stream.Message[order]) error {
		if calls.Add(1) == 1 {
			px.Freeze(testproxy.Both)
		}
		qctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := exec(ctx, qctx, "SELECT 1"); err != nil {
			return fmt.Errorf("report query: %w", err)
		}
		return nil
	}})
	ta.send(t, uniqueID(t, "a"), 1)
	waitHealthDown(t, ta.app, "idempotency:"+st.schema+".marks", "lost its connection")
	assertNotFailed(t, ta)
	px.Thaw()
	ta.stop()
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
