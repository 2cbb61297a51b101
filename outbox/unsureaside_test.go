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

// TestUnansweredCommitCountsSetAside: a batch that set a row aside (its
// headers undecodable) and whose commit went unanswered but committed
// counts the row in SetAside once the relay
// learns the outcome, as it counts its sent rows in Relayed. (Only the
// sent rows were counted: the set-aside row has dead_at, is claimed no
// more, and was counted nowhere.)
func TestUnansweredCommitCountsSetAside(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	px := outboxtest.BlackHole(t)
	appName := "obx_unsure_aside_" + strconv.Itoa(os.Getpid())
	ctx := context.Background()
	slowDeletes(t, pool, table, 400*time.Millisecond)
	cfg := outbox.Config{Table: table, DSN: px.DSN(t, appName), PollInterval: 50 * time.Millisecond, SendTimeout: 2 * time.Second}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	inTx(t, pool, true, func(tx pgx.Tx) {
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+` (name, key, payload, headers) VALUES ('events', 'bad', '{}', '{"n":1}'::jsonb)`); err != nil {
			t.Fatal(err)
		}
		if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	waitSlowDeleteRunning(t, pool, appName)
	px.FreezeReplies() // the deletion and the commit reach the server; their answers do not reach the relay
	receive(t, got, 15*time.Second)
	waitForCond(t, 15*time.Second, "the batch to commit on the server (the sent row deleted, the other set aside)", func() bool {
		var live, aside int
		if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE dead_at IS NULL), count(*) FILTER (WHERE dead_at IS NOT NULL) FROM "+table).Scan(&live, &aside); err != nil {
			t.Fatal(err)
		}
		return live == 0 && aside == 1
	})
	waitForCond(t, 15*time.Second, "the relay's batch to fail (no answer to its commit)", func() bool {
		return ob.Relay().Health(ctx) != nil
	})
	if n := ob.Relay().SetAside(); n != 0 {
		t.Fatalf("SetAside %d before the relay could learn the outcome; want 0", n)
	}
	px.Thaw()
	waitHealthy(t, ob.Relay())
	// Relayed and SetAside are counted one after the other: wait for both.
	waitForCond(t, 15*time.Second, "Relayed to count the sent row and SetAside the other", func() bool {
		return ob.Relay().Relayed() == 1 && ob.Relay().SetAside() != 0
	})
	if n := ob.Relay().SetAside(); n != 1 {
		t.Errorf("SetAside %d once the relay learnt that the batch committed; want 1", n)
	}
}
