package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestHugeSendTimeout: send-timeout is "bound of one send"; a user
// who wants sends never to time out in practice sets a large one (a week,
// a year). Validate accepts it, so the relay must work with it — or
// Validate must refuse it, naming outbox.send-timeout. The claim sets
// idle_in_transaction_session_timeout to 3 x send-timeout in
// milliseconds, which PostgreSQL caps at 2^31-1 ms (about 24.8 days): a
// send-timeout above about 8.3 days makes every batch fail.
// (From an adversarial review.)
func TestHugeSendTimeout(t *testing.T) {
	pool, table := migrate(t)
	cfg := outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 50 * time.Millisecond, SendTimeout: 24 * 365 * time.Hour}
	if err := cfg.Validate(); err != nil {
		if !strings.Contains(err.Error(), "outbox.send-timeout") {
			t.Fatalf("Validate refused a send-timeout of a year without naming the key: %v", err)
		}
		return // refused up front, naming the key: fine
	}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(context.Background(), tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	select {
	case <-got:
	case <-time.After(15 * time.Second):
		err := ob.Relay().Health(context.Background())
		t.Fatalf("Validate accepted send-timeout %s, but the relay sent nothing within 15s; relay health: %v", cfg.SendTimeout, err)
	}
}

// TestMaxSendTimeout: the largest send-timeout Validate takes works (the
// claim's setting is within PostgreSQL's range), and one more millisecond
// is refused with the bound.
func TestMaxSendTimeout(t *testing.T) {
	over := outbox.Config{SendTimeout: outbox.MaxSendTimeout + time.Millisecond}
	if err := over.Validate(); err == nil || !strings.Contains(err.Error(), "outbox.send-timeout") || !strings.Contains(err.Error(), outbox.MaxSendTimeout.String()) {
		t.Errorf("Validate(send-timeout %s) = %v; want an error naming outbox.send-timeout and %s", over.SendTimeout, err, outbox.MaxSendTimeout)
	}
	pool, table := migrate(t)
	cfg := outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 50 * time.Millisecond, SendTimeout: outbox.MaxSendTimeout}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(context.Background(), tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	select {
	case <-got:
	case <-time.After(15 * time.Second):
		t.Fatalf("send-timeout %s: the relay sent nothing within 15s; relay health: %v", cfg.SendTimeout, ob.Relay().Health(context.Background()))
	}
}

// TestHealthSaysWhatFailed: the relay's health names the kind of failure:
// a statement the server refused (here a read-only session: the claim's
// FOR UPDATE is refused) or a missing table is not "database unreachable".
func TestHealthSaysWhatFailed(t *testing.T) {
	_, table := migrate(t)
	readOnly := outboxtest.DSNWithOptions("-c default_transaction_read_only=on")
	for _, c := range []struct{ name, table, dsn, want string }{
		{"read-only", table, readOnly, "the database refused a statement, SQLSTATE 25006"},
		{"missing-table", table + "_missing", outboxtest.DSN(), "the table is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ob, _, _ := breakApp(t, newBroker(t, "memory"), false, outbox.Config{Table: c.table, DSN: c.dsn, PollInterval: 50 * time.Millisecond})
			var herr error
			waitForCond(t, 15*time.Second, "the relay to report down", func() bool {
				herr = ob.Relay().Health(context.Background())
				return herr != nil
			})
			if !strings.Contains(herr.Error(), c.want) || strings.Contains(herr.Error(), "unreachable") || strings.Contains(herr.Error(), "cannot connect") {
				t.Errorf("health: %v; want it to say %q (and not unreachable)", herr, c.want)
			}
		})
	}
}
