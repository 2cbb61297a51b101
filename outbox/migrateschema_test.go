package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestMigrateTwoTablesOfANewSchemaAtOnce: the outbox's and the idempotency
// store's migrations of two tables of one schema that does not exist yet
// (two instances starting on a new database, or one app migrating both
// at once) each create the schema. Each took the advisory lock of its own
// table only, and CREATE SCHEMA IF NOT EXISTS is not safe against a
// concurrent CREATE: the second failed with 23505 on
// pg_namespace_nspname_index once the first committed (in 30 rounds of
// three such migrations at once, 58 of 90 failed).
func TestMigrateTwoTablesOfANewSchemaAtOnce(t *testing.T) {
	t.Parallel()
	pool, base := outboxtest.Schema(t)
	ctx := context.Background()
	schema := base + "_new"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	// The first migration creates the schema and has not committed yet.
	tx1, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx) //nolint:errcheck // ends the transaction if the test failed before its commit
	if err := outbox.Migrate(ctx, tx1, schema+".outbox"); err != nil {
		t.Fatal(err)
	}
	// The second, of another table of the schema, runs meanwhile.
	conn2, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Release()
	var pid2 int
	if err := conn2.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid2); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- idempotency.Migrate(ctx, conn2, schema+".marks") }()
	// Once it waits for the first (a lock), the first commits.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting bool
		if err := pool.QueryRow(ctx, "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid2).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the second migration ended before the first committed: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the second migration does not wait for the first")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a migration of another table of the new schema, at the same time: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second migration did not end after the first committed")
	}
	for _, table := range []string{schema + ".outbox", schema + ".marks"} {
		var ok bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s: %v %v", table, ok, err)
		}
	}
}
