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

// TestIdleRelayFiresNoStatementTriggers: an idle relay's claims (every
// poll-interval, nothing to send) fire none of the table's FOR EACH
// STATEMENT triggers on DELETE or UPDATE (an audit's, say); a batch with
// rows fires them once, for its deletion. (The claim checked the relay's
// rights with a DELETE and an UPDATE ... WHERE false on every claim: 2
// trigger calls per poll-interval.)
func TestIdleRelayFiresNoStatementTriggers(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	schema, _, _ := strings.Cut(table, ".")
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE SEQUENCE "+schema+".fired; "+
		"CREATE FUNCTION "+schema+".audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('"+schema+".fired'); RETURN NULL; END $$; "+
		"CREATE TRIGGER audit AFTER DELETE OR UPDATE ON "+table+" FOR EACH STATEMENT EXECUTE FUNCTION "+schema+".audit()"); err != nil {
		t.Fatal(err)
	}
	fired := func() int64 { return seqCalls(t, pool, schema+".fired") }
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 20 * time.Millisecond})
	from := ob.Relay().Batches()
	waitForCond(t, 30*time.Second, "10 empty batches", func() bool { return ob.Relay().Batches() >= from+10 })
	if n := fired(); n != 0 {
		t.Fatalf("%d statement trigger calls by an idle relay's %d claims", n, ob.Relay().Batches()-from)
	}
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k"}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	receive(t, got, 30*time.Second)
	waitEmpty(t, pool, table, 30*time.Second)
	if n := fired(); n != 1 {
		t.Errorf("%d statement trigger calls for one batch with one row; want 1 (its DELETE)", n)
	}
}

// TestRelayWithColumnUpdateRights: a role with DELETE on the table and
// UPDATE only on the columns the relay writes (attempts, last_error,
// dead_at) passes the relay's rights check and relays.
func TestRelayWithColumnUpdateRights(t *testing.T) {
	pool, table := migrate(t)
	_, dsn := limitedRole(t, pool, table, "SELECT, DELETE", "UPDATE (attempts, last_error, dead_at)")
	ctx := context.Background()
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, outbox.Config{Table: table, DSN: dsn, PollInterval: 50 * time.Millisecond})
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k"}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	receive(t, got, 30*time.Second)
	waitEmpty(t, pool, table, 30*time.Second)
	if err := ob.Relay().Health(ctx); err != nil {
		t.Errorf("health: %v", err)
	}
}
