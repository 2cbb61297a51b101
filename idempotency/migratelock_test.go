package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestMigrateCompleteTableTakesNoLock: Migrate runs at every instance's
// start, while other instances handle messages. On a complete marks table
// it must take no lock on it: CREATE INDEX IF NOT EXISTS took a SHARE lock
// even with the index there, so it waited for every handler's open
// transaction (each holds a mark it inserted) and, meanwhile, every other
// delivery's mark INSERT queued behind it: one instance starting stalled
// all of them until their longest handler ended (a Migrate with an open
// handler's transaction ran out of a 2s deadline).
func TestMigrateCompleteTableTakesNoLock(t *testing.T) {
	t.Parallel()
	pool, schema := outboxtest.Schema(t)
	ctx := context.Background()
	for _, table := range []string{schema + ".marks", schema + ".order"} {
		if err := idempotency.Migrate(ctx, pool, table); err != nil {
			t.Fatal(err)
		}
		// Migrate in a transaction of the test's: the locks it took are
		// still held when it returns, for pg_locks to show.
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := idempotency.Migrate(ctx, tx, table); err != nil {
			t.Fatal(err)
		}
		var locks []string
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(l.mode ORDER BY l.mode), '{}') FROM pg_locks l
			WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
			AND l.relation IN (SELECT $1::regclass UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid = $1::regclass)`,
			pgxIdent(table)).Scan(&locks); err != nil {
			t.Fatal(err)
		}
		_ = tx.Rollback(ctx)
		if len(locks) > 0 {
			t.Errorf("Migrate of the complete table %s took locks %v on it or its indexes; want none", table, locks)
		}
	}

	// The case in practice: a handler's transaction holds a mark it
	// inserted while Migrate runs.
	table := schema + ".marks"
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // ends the open transaction
	if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (binding, key, expires_at) VALUES ('b', 'k', now() + interval '1 hour')"); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := idempotency.Migrate(mctx, pool, table); err != nil {
		t.Fatalf("Migrate of a complete table while a handler's transaction is open: %v", err)
	}
}

// pgxIdent is table (schema.name) quoted for a regclass literal.
func pgxIdent(table string) string {
	for i := range len(table) {
		if table[i] == '.' {
			return `"` + table[:i] + `"."` + table[i+1:] + `"`
		}
	}
	return `"` + table + `"`
}
