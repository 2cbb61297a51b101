package idempotency_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// TestDatabaseSQL: the postgres store on database/sql (Options.DB, pgx's
// stdlib driver). Migrate goes through idempotency.SQL; the handler writes
// through idempotency.SQLTx. A handler that fails after its write leaves
// neither the write nor the mark (the retry runs again and its write
// commits with the mark); a duplicate is skipped.
func TestDatabaseSQL(t *testing.T) {
	t.Parallel()
	pool, schema := outboxtest.Schema(t)
	db, err := sql.Open("pgx", outboxtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for range 2 { // Migrate is idempotent
		if err := idempotency.Migrate(ctx, idempotency.SQL(db), schema+".marks"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+schema+".effects (n int NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	st := &stores{pool: pool, sqlDB: db, schema: schema, memory: idempotency.NewMemoryStore()}
	calls := make(chan call, 100)
	var attempts atomic.Int64
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", handler: func(ctx context.Context, m stream.Message[order]) error {
		if idempotency.Tx(ctx) != nil {
			return errors.New("a pgx transaction in the context of a database/sql store")
		}
		tx := idempotency.SQLTx(ctx)
		if tx == nil {
			return errors.New("no *sql.Tx in the context")
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+schema+".effects (n) VALUES ($1)", m.Payload.N); err != nil {
			return err
		}
		calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
		if attempts.Add(1) == 1 {
			return errors.New("fails once, after its write")
		}
		return nil
	}})
	a, b := uniqueID(t, "a"), uniqueID(t, "b")
	ta.send(t, a, 1)
	for i := range 2 { // the failed attempt, then its retry
		if c := receive(t, calls, 30*time.Second); c != (call{a, 1}) {
			t.Fatalf("call %d: %+v, want %s", i, c, a)
		}
	}
	ta.send(t, a, 1) // a duplicate of a processed message
	ta.send(t, b, 2)
	if c := receive(t, calls, 30*time.Second); c != (call{b, 2}) {
		t.Fatalf("call %+v, want %s", c, b)
	}
	waitStats(t, ta, 1, 2)
	ta.stop()
	if n := st.count(t, "effects"); n != 2 {
		t.Fatalf("%d effects, want 2 (the failed attempt's write is rolled back)", n)
	}
	if n := st.count(t, "marks"); n != 2 {
		t.Fatalf("%d marks, want 2", n)
	}
}

// TestPoolAndDBRefused: Options.Pool and Options.DB together are an error
// naming both.
func TestPoolAndDBRefused(t *testing.T) {
	pool, schema := outboxtest.Schema(t)
	db, err := sql.Open("pgx", outboxtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	y := "stream:\n  function: { definition: handle }\n  bindings:\n    handle-in-0: { group: g, consumer: { idempotency: { store: postgres } } }\n"
	l, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "handle", func(context.Context, order) error { return nil })
	app, err := stream.NewApp(l.Stream, fns, newBroker(t, "memory").options...)
	if err != nil {
		t.Fatal(err)
	}
	st := &stores{pool: pool, schema: schema}
	opts := st.options()
	opts.DB = db
	_, err = idempotency.New(app, st.config(), opts)
	if err == nil || !strings.Contains(err.Error(), "Options.Pool and Options.DB") {
		t.Fatalf("New with Pool and DB: %v, want an error naming both", err)
	}
}
