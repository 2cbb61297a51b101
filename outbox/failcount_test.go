package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestFailedSendCountedWhenBatchFails: a send that fails in a batch whose
// end then fails (here the server refuses the deletion of the batch's
// other, sent row) is counted in streambind_outbox_send_failures_total.
// (Failures were counted only with the batch's commit: 0 for as long as
// the refusal lasted, while the row's attempts were rolled back too.)
func TestFailedSendCountedWhenBatchFails(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	ctx := context.Background()
	refuseDeletes(t, pool, table)
	cfg := outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 50 * time.Millisecond}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	failures := relayCounter(t, ob.Relay(), "streambind_outbox_send_failures_total")
	inTx(t, pool, true, func(tx pgx.Tx) {
		// A row for an input binding (written by hand): the bridge refuses
		// it, so its send fails at every batch.
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, payload) VALUES ('collect-in-0', 'x')"); err != nil {
			t.Fatal(err)
		}
		if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	receive(t, got, 15*time.Second) // the batch's good row was sent; its deletion is refused
	waitForCond(t, 15*time.Second, "the failed send to be counted", func() bool {
		return failures() >= 1
	})
}
