package outbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestSendToMissingTableSaysRunMigrate: Send into an outbox table that
// was never created (its schema present, 42P01, or missing, 3F000) says
// to run outbox.Migrate beside PostgreSQL's "relation ... does not
// exist", as the relay's readiness does.
func TestSendToMissingTableSaysRunMigrate(t *testing.T) {
	t.Parallel()
	pool, schema := outboxtest.Schema(t)
	for _, table := range []string{schema + ".never_made", schema + "_noschema.outbox"} {
		ta := startApp(t, newBroker(t, "memory"), appSpec{table: table})
		err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
			return ta.ob.Send(context.Background(), tx, "events", event{Key: "k", Seq: 1})
		})
		if err == nil || !strings.Contains(err.Error(), "insert into "+table+": the table is missing: run outbox.Migrate (or create it as docs/outbox.md") ||
			!strings.Contains(err.Error(), "does not exist") {
			t.Errorf("Send into %s: %v; want the missing table's hint and PostgreSQL's error", table, err)
		}
		ta.stop()
	}
}
