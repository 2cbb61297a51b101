package outbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/config"
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
	t.Parallel()
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

// TestMinSendTimeout: a send-timeout below outbox.MinSendTimeout is
// refused, naming the key, the value, the minimum and why, and where it
// was set (file:line, or the environment variable). Such a value (1ns,
// 1µs, or "30" meant as 30s: a bare number is milliseconds) was taken,
// and then every send timed out and its row was retried for ever.
func TestMinSendTimeout(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, time.Microsecond, 30 * time.Millisecond, outbox.MinSendTimeout - time.Nanosecond} {
		err := outbox.Config{SendTimeout: d}.Validate()
		if err == nil || !strings.Contains(err.Error(), "outbox.send-timeout: is "+d.String()+"; want at least "+outbox.MinSendTimeout.String()) || !strings.Contains(err.Error(), "retried for ever") {
			t.Errorf("Validate(send-timeout %s) = %v; want an error naming outbox.send-timeout, %s, the minimum %s and why", d, err, d, outbox.MinSendTimeout)
		}
	}
	if err := (outbox.Config{SendTimeout: outbox.MinSendTimeout}).Validate(); err != nil {
		t.Errorf("Validate(send-timeout %s), the minimum: %v", outbox.MinSendTimeout, err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "application.yaml")
	for _, tc := range []struct {
		yaml  string
		env   []string
		value string
		where string
	}{
		{"outbox:\n  table: t\n  send-timeout: 1us\n", nil, "1µs", file + ":3"},
		{"outbox:\n  send-timeout: 30\n", nil, "30ms", file + ":2"},
		{"outbox:\n  table: t\n", []string{"OUTBOX_SEND_TIMEOUT=1ns"}, "1ns", "env OUTBOX_SEND_TIMEOUT"},
		{"outbox:\n  send-timeout: 10s\n", []string{"OUTBOX_SENDTIMEOUT=5ms"}, "5ms", "env OUTBOX_SENDTIMEOUT"},
	} {
		if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		loaded, err := config.Load(config.Options{File: file, Env: append([]string{}, tc.env...)})
		if err == nil {
			_, err = outbox.FromConfig(loaded)
		}
		want := "outbox.send-timeout (" + tc.where + "): is " + tc.value + "; want at least " + outbox.MinSendTimeout.String()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q %v: FromConfig error %v; want one saying %q", tc.yaml, tc.env, err, want)
		}
	}
}
