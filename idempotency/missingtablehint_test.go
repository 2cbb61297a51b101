package idempotency_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestMissingTableSaysRunMigrate: a marks table that was never created
// (its schema present, 42P01, or missing too, 3F000) makes readiness say
// to run idempotency.Migrate, beside PostgreSQL's "relation ... does not
// exist": at start (the purge, then readiness's own look at the table)
// and once a message failed to store its mark. A trial's on-call engineer
// saw only "relation ... does not exist (SQLSTATE 42P01)".
func TestMissingTableSaysRunMigrate(t *testing.T) {
	t.Parallel()
	const hint = "the table is missing: run idempotency.Migrate (or the SQL in docs/idempotency.md"
	for _, c := range []struct{ name, table string }{
		{"table", ".never_made"},
		{"schema", "_noschema.never_made"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newStores(t, "postgres")
			table := st.schema + c.table
			st.table = table
			calls := make(chan struct{}, 1)
			ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", consumer: "dlq: true, ", handler: func(context.Context, stream.Message[order]) error {
				calls <- struct{}{}
				return nil
			}})
			name := "idempotency:" + table
			waitHealthDown(t, ta.app, name, hint) // the purge at start
			ta.send(t, uniqueID(t, "a"), 1)
			waitHealthDown(t, ta.app, name, "insert mark into "+table+": "+hint) // the message's
			if e := componentError(ta.app, name); !strings.Contains(e, "does not exist") {
				t.Errorf("readiness %q: want PostgreSQL's error too", e)
			}
			select {
			case <-calls:
				t.Fatal("the handler ran without its mark")
			default:
			}
		})
	}
}
