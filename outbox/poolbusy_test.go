package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestBusyPoolIsNotADatabaseThatDoesNotAnswer: a relay on the app's own
// pool (Options.Pool) whose connections are all in use says so in
// readiness — the database was not asked — rather than "the database did
// not answer within send-timeout"; once a connection is free, the rows
// are sent.
func TestBusyPoolIsNotADatabaseThatDoesNotAnswer(t *testing.T) {
	pool, table := migrate(t)
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(outboxtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = 1
	apool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(apool.Close)
	br := newBroker(t, "memory")
	app := eventsApp(t, br, "20s")
	ob, err := outbox.New(app, outbox.Config{Table: table, PollInterval: 50 * time.Millisecond, SendTimeout: 300 * time.Millisecond}, outbox.Options{Pool: apool, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	// The app's own work holds the pool's only connection.
	held, err := apool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("app stopped with: %v", err)
		}
	})
	<-app.Ready()
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k"}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	var herr error
	waitForCond(t, 15*time.Second, "the relay to report down", func() bool {
		herr = ob.Relay().Health(ctx)
		return herr != nil
	})
	if msg := herr.Error(); !strings.Contains(msg, "no connection of the pool was free") || strings.Contains(msg, "did not answer") {
		t.Errorf("health: %v; want it to say no connection of the pool was free, not that the database did not answer", herr)
	}
	held.Release()
	waitEmpty(t, pool, table, 30*time.Second)
	waitForCond(t, 15*time.Second, "the relay to report up", func() bool { return ob.Relay().Health(ctx) == nil })
}
