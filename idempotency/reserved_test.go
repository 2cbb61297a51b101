package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// TestReservedWordTableNames: a marks table named like an SQL keyword
// (user, order, select) is migrated and used: the store quotes its names.
func TestReservedWordTableNames(t *testing.T) {
	t.Parallel()
	pool, schema := outboxtest.Schema(t)
	ctx := context.Background()
	for _, name := range []string{"user", "order", "select", "end", "table"} {
		for range 2 { // idempotent
			if err := idempotency.Migrate(ctx, pool, schema+"."+name); err != nil {
				t.Fatalf("Migrate(%q): %v", name, err)
			}
		}
	}
	st := &stores{pool: pool, schema: schema, table: schema + ".order", memory: idempotency.NewMemoryStore()}
	calls := make(chan call, 10)
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", handler: func(ctx context.Context, m stream.Message[order]) error {
		calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
		return nil
	}})
	a, b := uniqueID(t, "a"), uniqueID(t, "b")
	ta.send(t, a, 1)
	if c := receive(t, calls, 30*time.Second); c != (call{a, 1}) {
		t.Fatalf("call %+v, want %s", c, a)
	}
	ta.send(t, a, 1) // a duplicate
	ta.send(t, b, 2)
	if c := receive(t, calls, 30*time.Second); c != (call{b, 2}) {
		t.Fatalf("call %+v, want %s (the duplicate ran)", c, b)
	}
	waitStats(t, ta, 1, 2)
	ta.stop()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM "`+schema+`"."order"`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d marks in %s.order, want 2", n, schema)
	}
}
