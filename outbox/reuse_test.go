package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestReusedIdsAfterRefusedDeletionAreSent: the relay remembers the rows
// it sent whose deletion the server refused (TestRefusedDeletionSendsNoDuplicates);
// new rows that take the same ids (TRUNCATE ... RESTART IDENTITY here;
// also the table dropped and migrated again, ALTER SEQUENCE RESTART, a
// failover to a replica that lags) are sent, not deleted unsent. (The
// memory was keyed by id alone: 0 of 3 new messages were sent.)
func TestReusedIdsAfterRefusedDeletionAreSent(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	ctx := context.Background()
	tries := refuseDeletes(t, pool, table)
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 50 * time.Millisecond})
	send := func(prefix string, base int) []int64 {
		var ids []int64
		inTx(t, pool, true, func(tx pgx.Tx) {
			for seq := range 3 {
				if err := ob.Send(ctx, tx, "events", event{Key: fmt.Sprint(prefix, seq), Seq: base + seq}, outbox.Key(fmt.Sprint(prefix, seq))); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := tx.Query(ctx, "SELECT id FROM "+table+" ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				t.Fatal(err)
			}
		})
		return ids
	}
	old := send("k", 0)
	for range 3 {
		receive(t, got, 30*time.Second)
	}
	// The deletion refused more than once: the rows are remembered.
	waitForCond(t, 30*time.Second, "refused deletions", func() bool {
		return tries() >= 6
	})
	// The operator clears the table and the trigger; new rows take the
	// same ids.
	if _, err := pool.Exec(ctx, "DROP TRIGGER nodel ON "+table+"; TRUNCATE "+table+" RESTART IDENTITY"); err != nil {
		t.Fatal(err)
	}
	if ids := send("new", 100); fmt.Sprint(ids) != fmt.Sprint(old) {
		t.Fatalf("new ids %v, want the old ones %v again", ids, old)
	}
	seen := map[int]bool{}
	for range 3 {
		m := receive(t, got, 15*time.Second)
		if m.Payload.Seq < 100 {
			t.Fatalf("an old message (seq %d) sent again", m.Payload.Seq)
		}
		seen[m.Payload.Seq] = true
	}
	if len(seen) != 3 {
		t.Errorf("new messages received: %v; want 100, 101, 102", seen)
	}
	waitEmpty(t, pool, table, 30*time.Second)
}
