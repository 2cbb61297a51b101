package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// An app with an outbox is tested on the in-process binder with
// streamtest.StartWith, whose setup calls outbox.New before the app runs
// (after streamtest.Start, outbox.New fails: the app already runs): what
// a transaction stores is received from the output binding once it
// committed; what a rolled-back one stored never is.
func TestStreamtestStartWithOutbox(t *testing.T) {
	pool, schema := outboxtest.Schema(t)
	ctx := context.Background()
	table := schema + ".outbox"
	if err := outbox.Migrate(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	cfg := &stream.Config{
		OutputBindings: "orders-out",
		Bindings:       map[string]stream.BindingConfig{"orders-out": {Destination: "orders"}},
	}
	var ob *outbox.Outbox
	env := streamtest.StartWith(t, cfg, stream.NewCatalog(), func(app *stream.App) (err error) {
		ob, err = outbox.New(app, outbox.Config{Table: table}, outbox.Options{Pool: pool})
		return err
	})
	if _, err := outbox.New(env.App, outbox.Config{Table: table}, outbox.Options{Pool: pool}); err == nil {
		t.Fatal("outbox.New on a running app: no error")
	}
	send := func(o Order, commit bool) {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit: ErrTxClosed
		if err := ob.Send(ctx, tx, "orders-out", o, outbox.Key(o.Customer)); err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(Order{ID: "o-1", Customer: "c-1"}, false)
	send(Order{ID: "o-2", Customer: "c-1"}, true)
	if m := streamtest.Receive[Order](t, env, "orders-out"); m.Payload.ID != "o-2" || string(m.Key) != "c-1" {
		t.Fatalf("received %+v (key %q), want o-2 of c-1", m.Payload, m.Key)
	}
	env.ExpectNoOutput(t, "orders-out")
	// The relay deletes a row once its message was confirmed: just after
	// the harness received it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var left int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left in the outbox after 5s", left)
		}
	}
}
