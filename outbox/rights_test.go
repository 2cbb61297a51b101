package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestRelayWithoutDeleteRightSendsNothing: a relay whose role may not
// delete the outbox's rows (a revoked right) sends nothing and says why in
// readiness; once the right is granted every message arrives once. (It
// used to send its batch, fail to delete it, and send it again every
// poll-interval: 295 duplicates of 10 messages in 6s.)
func TestRelayWithoutDeleteRightSendsNothing(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	role, dsn := limitedRole(t, pool, table, "SELECT, INSERT, UPDATE")
	ctx := context.Background()
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, outbox.Config{Table: table, DSN: dsn, PollInterval: 50 * time.Millisecond})
	inTx(t, pool, true, func(tx pgx.Tx) {
		for seq := range 3 {
			if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: seq}, outbox.Key("k")); err != nil {
				t.Fatal(err)
			}
		}
	})
	var herr error
	waitForCond(t, 15*time.Second, "the relay to report down", func() bool {
		herr = ob.Relay().Health(ctx)
		return herr != nil
	})
	if !strings.Contains(herr.Error(), "lacks a right") {
		t.Errorf("health: %v; want it to say the role lacks a right", herr)
	}
	if n := len(got); n != 0 {
		t.Fatalf("%d messages sent by a relay that cannot delete them (they are sent again every poll-interval)", n)
	}
	if _, err := pool.Exec(ctx, "GRANT DELETE ON "+table+" TO "+role); err != nil {
		t.Fatal(err)
	}
	for seq := range 3 {
		if m := receive(t, got, 30*time.Second); m.Payload.Seq != seq {
			t.Fatalf("got seq %d, want %d", m.Payload.Seq, seq)
		}
	}
	waitEmpty(t, pool, table, 30*time.Second)
	if n := len(got); n != 0 {
		t.Errorf("%d duplicates after the grant", n)
	}
}

// TestHealthSaysWrongTableShape: a table of another shape than Migrate's
// (made by hand: a text key, no dead_at) is reported as such, not as a
// generic refusal of "begin".
func TestHealthSaysWrongTableShape(t *testing.T) {
	t.Parallel()
	pool, schema := outboxtest.Schema(t)
	for name, ddl := range map[string]string{
		"text-key":   "CREATE TABLE %s (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, key text NOT NULL DEFAULT '', payload bytea NOT NULL, headers jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now(), attempts int NOT NULL DEFAULT 0, last_error text, dead_at timestamptz)",
		"no-dead-at": "CREATE TABLE %s (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, key bytea NOT NULL DEFAULT '', payload bytea NOT NULL, headers jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now(), attempts int NOT NULL DEFAULT 0, last_error text)",
	} {
		t.Run(name, func(t *testing.T) {
			table := schema + "." + strings.ReplaceAll(name, "-", "_")
			if _, err := pool.Exec(context.Background(), fmt.Sprintf(ddl, table)); err != nil {
				t.Fatal(err)
			}
			_, ob, _, _ := breakApp(t, newBroker(t, "memory"), false, outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 50 * time.Millisecond})
			var herr error
			waitForCond(t, 15*time.Second, "the relay to report down", func() bool {
				herr = ob.Relay().Health(context.Background())
				return herr != nil
			})
			if !strings.Contains(herr.Error(), "the table does not have the columns the relay reads") {
				t.Errorf("health: %v; want it to say the table has the wrong shape", herr)
			}
		})
	}
}

// TestRefusedDeletionSendsNoDuplicates: a batch whose deletion the server
// refuses after the sends (here a trigger that raises on DELETE; also a
// constraint, a full disk) rolls back, and its rows stay; the relay does
// not send them again at each retry but only deletes them once the
// refusal ends. (It sent them again every poll-interval: 192 duplicates
// of 10 messages in 4s at poll-interval 200ms.)
func TestRefusedDeletionSendsNoDuplicates(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	ctx := context.Background()
	tries := refuseDeletes(t, pool, table)
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 50 * time.Millisecond})
	inTx(t, pool, true, func(tx pgx.Tx) {
		for seq := range 3 {
			if err := ob.Send(ctx, tx, "events", event{Key: fmt.Sprint("k", seq), Seq: seq}, outbox.Key(fmt.Sprint("k", seq))); err != nil {
				t.Fatal(err)
			}
		}
	})
	for range 3 {
		receive(t, got, 30*time.Second)
	}
	// The deletion refused again and again (nextval is not rolled back).
	waitForCond(t, 30*time.Second, "five refused deletions", func() bool {
		return tries() >= 5
	})
	if herr := ob.Relay().Health(ctx); herr == nil || !strings.Contains(herr.Error(), "no deletes today") {
		t.Errorf("health: %v; want the refusal", herr)
	}
	if n := len(got); n != 0 {
		t.Fatalf("%d messages sent again while their deletion was refused", n)
	}
	if _, err := pool.Exec(ctx, "DROP TRIGGER nodel ON "+table); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, pool, table, 30*time.Second)
	if n := len(got); n != 0 {
		t.Errorf("%d messages sent again once the deletion worked", n)
	}
}

// limitedRole creates a login role (dropped at the test's end) with usage
// of table's schema and each of privileges ("SELECT, DELETE", "UPDATE
// (attempts)") on table, and returns it with a DSN that logs in as it
// (trust auth). It skips the test when the test DSN is not a URL.
func limitedRole(t *testing.T, pool *pgxpool.Pool, table string, privileges ...string) (role, dsn string) {
	t.Helper()
	u, err := url.Parse(outboxtest.DSN())
	if err != nil || u.Scheme == "" {
		t.Skip("the test DSN is not a URL")
	}
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	role = "obx_role_" + hex.EncodeToString(b[:])
	schema, _, _ := strings.Cut(table, ".")
	qs := []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
	}
	for _, p := range privileges {
		qs = append(qs, "GRANT "+p+" ON "+table+" TO "+role)
	}
	for _, q := range qs {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP OWNED BY "+role)
		if _, err := pool.Exec(context.Background(), "DROP ROLE "+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	u.User = url.User(role) // trust auth
	return role, u.String()
}

// refuseDeletes makes every deletion from table fail ("no deletes today",
// by a trigger nodel) and returns how many were tried (a sequence's
// nextval in the trigger: not rolled back).
func refuseDeletes(t *testing.T, pool *pgxpool.Pool, table string) (tries func() int64) {
	t.Helper()
	schema, _, _ := strings.Cut(table, ".")
	if _, err := pool.Exec(context.Background(), "CREATE SEQUENCE "+schema+".tries; "+
		"CREATE FUNCTION "+schema+".nodel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('"+schema+".tries'); RAISE EXCEPTION 'no deletes today'; END $$; "+
		"CREATE TRIGGER nodel BEFORE DELETE ON "+table+" FOR EACH ROW EXECUTE FUNCTION "+schema+".nodel()"); err != nil {
		t.Fatal(err)
	}
	return func() int64 { return seqCalls(t, pool, schema+".tries") }
}

// seqCalls is how many times nextval was called on the sequence seq (0
// before the first).
func seqCalls(t *testing.T, pool *pgxpool.Pool, seq string) int64 {
	t.Helper()
	var n int64
	var called bool
	if err := pool.QueryRow(context.Background(), "SELECT last_value, is_called FROM "+seq).Scan(&n, &called); err != nil {
		t.Fatal(err)
	}
	if !called {
		return 0
	}
	return n
}
