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

// TestUnansweredCommitCountsRelayed: a batch whose rows were sent and
// whose deletion committed on the server, but whose commit's answer was
// lost (the relay's batch fails: the database did not answer), is counted
// in streambind_outbox_relayed_total once the relay learns, at a later
// batch, that the transaction committed; exactly once. (Its rows were
// deleted and counted nowhere: the counter stayed 0 for a message sent,
// confirmed and deleted.)
func TestUnansweredCommitCountsRelayed(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	px := outboxtest.BlackHole(t)
	appName := "obx_unanswered_" + strconv.Itoa(os.Getpid())
	ctx := context.Background()
	slowDeletes(t, pool, table, 400*time.Millisecond)
	cfg := outbox.Config{Table: table, DSN: px.DSN(t, appName), PollInterval: 50 * time.Millisecond, SendTimeout: 2 * time.Second}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	relayed := relayCounter(t, ob.Relay(), "streambind_outbox_relayed_total")

	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	waitSlowDeleteRunning(t, pool, appName)
	px.FreezeReplies() // the deletion and the commit reach the server; their answers do not reach the relay
	receive(t, got, 15*time.Second)
	waitEmpty(t, pool, table, 15*time.Second) // committed on the server
	waitForCond(t, 15*time.Second, "the relay's batch to fail (no answer to its commit)", func() bool {
		return ob.Relay().Health(ctx) != nil
	})
	if n := relayed(); n != 0 {
		t.Fatalf("relayed_total %v before the relay could learn the outcome; want 0", n)
	}
	px.Thaw()
	waitHealthy(t, ob.Relay())
	waitForCond(t, 15*time.Second, "relayed_total to count the message whose commit went unanswered", func() bool {
		return relayed() == 1
	})
	// Exactly once: later batches do not count it again.
	b := ob.Relay().Batches()
	waitForCond(t, 15*time.Second, "two more batches", func() bool { return ob.Relay().Batches() >= b+2 })
	if n := relayed(); n != 1 {
		t.Errorf("relayed_total %v after later batches; want 1", n)
	}
	select {
	case m := <-got:
		t.Errorf("message %+v sent again; the commit had deleted its row", m.Payload)
	default:
	}
}
