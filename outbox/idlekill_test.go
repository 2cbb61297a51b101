package outbox_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestIdleConnectionKilledFailsNoBatch: the relay's pooled connection,
// idle between batches, has its session terminated by the server
// (pg_terminate_backend of the relay's own idle backend, as an
// administrator, a pooler or a restart of the server would). The next
// batch takes another connection and sends; it does not fail, nor
// readiness go down, nor the row wait a poll-interval (here a minute: only
// the notification wakes the relay). (The first batch after the kill used
// to fail on the dead connection: a WARN, readiness down, and the row
// sent a poll-interval later.)
func TestIdleConnectionKilledFailsNoBatch(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	appName := "obx_idlekill_" + strconv.Itoa(os.Getpid())
	cfg := outbox.Config{Table: table, DSN: withAppName(outboxtest.DSN(), appName), PollInterval: time.Minute, SendTimeout: 5 * time.Second}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	ctx := context.Background()
	store := func(seq int) {
		inTx(t, pool, true, func(tx pgx.Tx) {
			if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: seq}, outbox.Key("k")); err != nil {
				t.Fatal(err)
			}
		})
	}
	waitListening(t, pool, table)
	store(0)
	receive(t, got, 15*time.Second)
	waitEmpty(t, pool, table, 15*time.Second)

	// The relay's pooled connections, idle (the listener's session, whose
	// last statement is LISTEN, is left alone: it is not the pool's).
	idle := `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle' AND query NOT LIKE 'LISTEN %'`
	var pids []int
	waitForCond(t, 15*time.Second, "the relay's pooled connection to be idle", func() bool {
		rows, err := pool.Query(ctx, idle, appName)
		if err != nil {
			t.Fatal(err)
		}
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return len(pids) > 0
	})
	for _, pid := range pids {
		if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
			t.Fatal(err)
		}
	}
	waitForCond(t, 15*time.Second, "the terminated sessions to end", func() bool {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	before := ob.Relay().Batches()
	store(1) // the notification wakes the relay
	if m := receive(t, got, 15*time.Second); m.Payload.Seq != 1 {
		t.Fatalf("got seq %d, want 1", m.Payload.Seq)
	}
	waitEmpty(t, pool, table, 15*time.Second)
	if err := ob.Relay().Health(ctx); err != nil {
		t.Errorf("health after the idle connection was killed: %v; want nil (no batch failed)", err)
	}
	// The relay counts a batch once its commit returned, a moment after the
	// rows are gone for everyone else (waitEmpty).
	waitForCond(t, 15*time.Second, "a batch committed after the kill", func() bool { return ob.Relay().Batches()-before >= 1 })
	t.Logf("terminated %d idle pooled session(s)", len(pids))
}
