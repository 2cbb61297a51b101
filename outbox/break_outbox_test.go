package outbox_test

// Attacks on the outbox by a breaking review; each test is the regression
// test of a defect it found.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// TestLongNonASCIIErrorsAreRecorded: a row's last_error is cut to 1000
// bytes. Cut inside a multi-byte UTF-8 character it was not valid text,
// and PostgreSQL refused the UPDATE (SQLSTATE 22021), and with it the
// batch's deletes and commit: a row set aside for undecodable headers
// whose reason named a long non-ASCII header key was never set aside,
// failing every batch that claimed it (the rows after it in the table
// were never sent: each batch claims the oldest rows), and a failed send
// whose error named a long non-ASCII destination never had its attempt
// counted.
func TestLongNonASCIIErrorsAreRecorded(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	ctx := context.Background()
	br := newBroker(t, "memory")
	a := startApp(t, br, appSpec{consume: true, table: table})
	long := strings.Repeat("é", 600) // 1200 bytes
	inTx(t, pool, true, func(tx pgx.Tx) {
		// Headers whose value is not base64: set aside, the reason naming
		// the key. Two rows, the key one byte apart, so that one of the
		// two reasons is cut inside a character.
		for i, k := range []string{long, "x" + long} {
			hdr, _ := json.Marshal([]string{base64.StdEncoding.EncodeToString([]byte(k)), "!"})
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, key, payload, headers) VALUES ('events', $1, '{}', $2::jsonb)", []byte{byte('a' + i)}, string(hdr)); err != nil {
				t.Fatal(err)
			}
		}
		// Rows for destinations the relay's app does not allow: their
		// sends fail with an error that names them.
		for i, n := range []string{long, "x" + long} {
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, key, payload) VALUES ($1, $2, '{}')", n, []byte{byte('c' + i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	relay := startApp(t, br, appSpec{relay: true, table: table, poll: 50 * time.Millisecond, topYAML: "  dynamic-destinations: [evt]\n"})
	receive(t, a.got, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var live, aside, failed int
		if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE dead_at IS NULL AND attempts = 0), count(*) FILTER (WHERE dead_at IS NOT NULL), count(*) FILTER (WHERE attempts > 0 AND last_error IS NOT NULL) FROM "+table).Scan(&live, &aside, &failed); err != nil {
			t.Fatal(err)
		}
		if live == 0 && aside == 2 && failed == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows untouched, %d set aside, %d with a failed attempt counted; want 0, 2, 2 (relay health: %v)", live, aside, failed, relay.ob.Relay().Health(ctx))
		}
		time.Sleep(20 * time.Millisecond) // polling the table's state
	}
	if err := relay.ob.Relay().Health(ctx); err != nil {
		t.Errorf("relay unhealthy: %v", err)
	}
}

// TestConfigValueErrorsNameFileLine: FromConfig promises errors naming
// file:line for bad values, as for the stream section. A value of the
// wrong type did; one out of range (batch-size: -1, poll-interval: 1ms, a
// bad table name, an explicit 0) named only the key, not where it was set
// — nor in which of the files merged. Any spelling of the key is found.
func TestConfigValueErrorsNameFileLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "application.yaml")
	y := "outbox:\n  batchSize: -1\n  poll_interval: 1ms\n  table: Shop.Outbox\n  concurrency: 0\n  send-timeout: -1s\n"
	if err := os.WriteFile(file, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := config.Load(config.Options{File: file, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = outbox.FromConfig(loaded)
	if err == nil {
		t.Fatal("FromConfig took a bad section")
	}
	// batchSize as the file writes it (ConfigError.Key).
	for key, line := range map[string]int{"batchSize": 2, "poll-interval": 3, "table": 4, "concurrency": 5, "send-timeout": 6} {
		want := fmt.Sprintf("outbox.%s (%s:%d): ", key, file, line)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s where it was set (want %q):\n%v", key, want, err)
		}
	}
	if strings.Count(err.Error(), "outbox.concurrency") != 1 {
		t.Errorf("concurrency: 0 reported more than once:\n%v", err)
	}
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 5 {
		t.Errorf("error is %T with %d problems; want stream.ConfigErrors of 5", err, len(ces))
	}
}

// TestHealthSaysMissingSchema: a table whose schema does not exist either
// (Migrate never ran: it creates the schema) is "the table is missing:
// run outbox.Migrate", as a missing table in an existing schema is; it
// was "the database refused a statement, SQLSTATE 3F000".
func TestHealthSaysMissingSchema(t *testing.T) {
	_, schema := outboxtest.Schema(t) // the test database is there
	table := schema + "_missing.outbox"
	_, ob, _, _ := breakApp(t, newBroker(t, "memory"), false, outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 50 * time.Millisecond})
	var herr error
	waitForCond(t, 15*time.Second, "the relay to report down", func() bool {
		herr = ob.Relay().Health(context.Background())
		return herr != nil
	})
	if !strings.Contains(herr.Error(), "the table is missing: run outbox.Migrate") {
		t.Errorf("health: %v; want it to say the table is missing: run outbox.Migrate", herr)
	}
}

// TestMigrateCompleteTableTakesNoLock: Migrate runs at every start of
// every instance ("once, at deployment or start"). On a complete table it
// has nothing to do, but CREATE INDEX IF NOT EXISTS and CREATE OR REPLACE
// TRIGGER locked the table all the same (SHARE, SHARE ROW EXCLUSIVE):
// Migrate waited for every open transaction that had written to the
// outbox, and every Send of every instance queued behind it meanwhile.
func TestMigrateCompleteTableTakesNoLock(t *testing.T) {
	pool, table := migrate(t)
	ctx := context.Background()
	// An application's transaction that called Send and is still open.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // ends the open transaction
	if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, payload) VALUES ('events', 'x')"); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := outbox.Migrate(mctx, pool, table); err != nil {
		t.Fatalf("Migrate of a complete table while a Send's transaction is open: %v", err)
	}
	// Nothing was replaced: the function and trigger are the ones made first.
	var fnXmin, trXmin string
	q := func() {
		if err := pool.QueryRow(ctx, "SELECT p.xmin::text, g.xmin::text FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid WHERE g.tgrelid = $1::regclass", table).Scan(&fnXmin, &trXmin); err != nil {
			t.Fatal(err)
		}
	}
	q()
	f0, t0 := fnXmin, trXmin
	if err := outbox.Migrate(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	q()
	if fnXmin != f0 || trXmin != t0 {
		t.Errorf("a Migrate of a complete table replaced its notify function or trigger")
	}
}

// TestMigrateByNonOwner: Migrate needs the right to create what is
// missing, and no more. A role with CREATE on a schema made for it (but
// not on the database) could not migrate a table there: CREATE SCHEMA IF
// NOT EXISTS needs the database's CREATE right even when the schema
// exists. A role that does not own a complete table (made at deployment
// by another role) could not rerun Migrate: CREATE INDEX IF NOT EXISTS
// and CREATE OR REPLACE TRIGGER need to own the table.
func TestMigrateByNonOwner(t *testing.T) {
	pool, table := migrate(t)
	schema, _, _ := strings.Cut(table, ".")
	role, dsn := limitedRole(t, pool, table, "SELECT, INSERT, UPDATE, DELETE")
	ctx := context.Background()
	var canDB bool
	if err := pool.QueryRow(ctx, "SELECT has_database_privilege($1, current_database(), 'CREATE')", role).Scan(&canDB); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "GRANT CREATE ON SCHEMA "+schema+" TO "+role); err != nil {
		t.Fatal(err)
	}
	rp, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	if err := outbox.Migrate(ctx, rp, table); err != nil {
		t.Errorf("Migrate of a complete table by a role that does not own it: %v", err)
	}
	if canDB {
		t.Log("the role may create schemas in the test database: the schema case is not tested")
	}
	if err := outbox.Migrate(ctx, rp, schema+".mine"); err != nil {
		t.Errorf("Migrate of a new table in an existing schema by a role with CREATE on the schema (CREATE on the database: %t): %v", canDB, err)
	}
	// The role's table works: Send and the relay's claim need it whole.
	if rowCount(t, rp, schema+".mine") != 0 {
		t.Error("new table not empty")
	}
}

// TestNilRelayCollector: the relay of an outbox with relay: false is nil,
// and "its methods are safe on nil"; it is the prometheus.Collector to
// register. Registered, its Collect dereferenced nil at every scrape: the
// registry reported the panic as an error, and the management server's
// /metrics answered 500 — every metric of the app lost. Start and Stop
// panicked too.
func TestNilRelayCollector(t *testing.T) {
	var r *outbox.Relay
	reg := prometheus.NewRegistry()
	if err := reg.Register(r); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("Gather with a nil relay registered: %v", err)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := r.Start(context.Background()); err == nil {
		t.Error("Start of a nil relay: no error")
	}
}

// TestManyFailingKeysDoNotStarveOthers: more keys whose sends fail than
// two batches hold, at the head of the table (a destination the relay
// cannot send to, with a key per customer), and good rows behind them.
// A batch's failed keys were left out of the next claim only: the claims
// took the first and the second batch's failing keys in turn, for ever,
// and no row behind them was sent ("a message that can never be sent
// blocks its key" — it blocked every key). The good rows arrive, and
// every failing row has its attempt counted (each key is retried).
func TestManyFailingKeysDoNotStarveOthers(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	a := startApp(t, br, appSpec{consume: true, table: table})
	const failing = 35 // 3.5 batches
	for i := range failing {
		if _, err := pool.Exec(context.Background(), "INSERT INTO "+table+" (name, key, payload) VALUES ('nowhere', $1, 'x')", []byte(fmt.Sprint("bad", i))); err != nil {
			t.Fatal(err)
		}
	}
	produce(t, a.ob, pool, 4, 5)
	// The relay's app allows no dynamic destination but evt.
	startApp(t, br, appSpec{relay: true, table: table, batchSize: 10, poll: 200 * time.Millisecond, topYAML: "  dynamic-destinations: [evt]\n"})
	if dups := checkOrder(t, a.got, 4, 5, 30*time.Second); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	waitForCond(t, 30*time.Second, "every failing row's attempt counted, the good rows deleted", func() bool {
		var left, tried int
		if err := pool.QueryRow(context.Background(), "SELECT count(*), count(*) FILTER (WHERE attempts > 0) FROM "+table).Scan(&left, &tried); err != nil {
			t.Fatal(err)
		}
		return left == failing && tried == failing
	})
}

// TestConfigErrorsHideSecretPlaceholders: a value that came from a
// secret's placeholder is hidden in FromConfig's errors, as Decode and the
// stream section hide it; the table error quoted it.
func TestConfigErrorsHideSecretPlaceholders(t *testing.T) {
	loaded, err := config.Load(config.Options{Data: []byte("outbox:\n  table: ${DB_PASSWORD}\n"), Env: []string{"DB_PASSWORD=Sup3r-S3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = outbox.FromConfig(loaded)
	if err == nil || !strings.Contains(err.Error(), "outbox.table") {
		t.Fatalf("FromConfig = %v; want an error naming outbox.table", err)
	}
	if strings.Contains(err.Error(), "S3cret") {
		t.Errorf("the error shows the secret: %v", err)
	}
}

// TestConfigNeverShowsItsDSN: Config.String describes the configuration
// without its DSN, which may hold the database password; but a Config
// logged with slog's JSON handler (telemetry's json format) was written
// field by field, the DSN included, and %#v printed it too.
func TestConfigNeverShowsItsDSN(t *testing.T) {
	cfg := outbox.Config{DSN: "postgres://shop:Sup3rS3cret@db/shop"}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("starting", "outbox", cfg)
	slog.New(slog.NewTextHandler(&b, nil)).Info("starting", "outbox", cfg)
	fmt.Fprintf(&b, "%v %+v %s %#v\n", cfg, cfg, cfg, cfg)
	if strings.Contains(b.String(), "Sup3rS3cret") {
		t.Errorf("the DSN's password shows:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "dsn=set") {
		t.Errorf("the configuration is not described:\n%s", b.String())
	}
}

// TestAbortedBatchIsNoSendFailure: a relay stopped while its sends wait
// for the broker (a consumer that does not take, a full queue) aborts its
// batch when the shutdown time runs out. The cut-short sends were counted
// in streambind_outbox_send_failures_total and logged at WARN as failed
// sends, one per key, at every such shutdown; the broker failed nothing.
// The rows are kept, their attempts not counted, and sent again, in
// order, by the next relay.
func TestAbortedBatchIsNoSendFailure(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	b, err := memory.NewBroker(memory.Config{BufferSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	br := broker{kind: "memory", yaml: "    memory: { type: memory }\n", options: []stream.Option{stream.WithBinderType(memory.Type, memory.Factory(b))}}
	// A consumer that takes nothing until released: the queue fills and
	// the relay's sends wait.
	release := make(chan struct{})
	got := make(chan stream.Message[event], 1000)
	y := "stream:\n  default-binder: memory\n  function: { definition: collect }\n  binders:\n" + br.yaml + "  bindings:\n    collect-in-0: { destination: evt, group: g }\n"
	loaded, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "collect", func(ctx context.Context, m stream.Message[event]) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		got <- m
		return nil
	})
	consumer, err := stream.NewApp(loaded.Stream, fns, append([]stream.Option{stream.WithLogger(testLogger()), stream.WithoutSignals()}, br.options...)...)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	cdone := make(chan error, 1)
	go func() { cdone <- consumer.Run(cctx) }()
	t.Cleanup(func() { ccancel(); <-cdone })
	<-consumer.Ready()

	writer := startApp(t, br, appSpec{table: table})
	ctx := context.Background()
	const keys, n = 3, 10
	for i := range n {
		inTx(t, pool, true, func(tx pgx.Tx) {
			for k := range keys {
				key := fmt.Sprint("k", k)
				if err := writer.ob.Send(ctx, tx, "events", event{Key: key, Seq: i}, outbox.Key(key)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	y = "stream:\n  default-binder: memory\n  shutdown-timeout: 1s\n  output-bindings: events\n  binders:\n" + br.yaml + "  bindings:\n    events: { destination: evt }\n"
	loaded, err = config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := stream.NewApp(loaded.Stream, stream.NewCatalog(), append([]stream.Option{stream.WithLogger(testLogger()), stream.WithoutSignals()}, br.options...)...)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(app, outbox.Config{Table: table, DSN: outboxtest.DSN(), PollInterval: 100 * time.Millisecond, SendTimeout: 30 * time.Second}, outbox.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(rctx) }()
	<-app.Ready()
	// Until the relay's sends wait: the queue (2) and the consumer's one
	// in hand are full, the batch is in flight.
	waitForCond(t, 15*time.Second, "the relay's sends to wait for room", func() bool {
		d, ok := b.Depth("evt", "g")
		return ok && d >= 2
	})
	rcancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "batch aborted at shutdown") {
		t.Fatalf("the relay's app stopped with %v; want its batch aborted", err)
	}
	failures := relayCounter(t, ob.Relay(), "streambind_outbox_send_failures_total")
	if n := failures(); n != 0 {
		t.Errorf("%v send failures counted for sends cut short by the shutdown", n)
	}
	var attempts int
	if err := pool.QueryRow(ctx, "SELECT coalesce(sum(attempts), 0) FROM "+table).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != 0 {
		t.Errorf("%d attempts counted on the rows of the aborted batch", attempts)
	}
	close(release)
	startApp(t, br, appSpec{relay: true, table: table})
	checkOrder(t, got, keys, n, 30*time.Second) // duplicates allowed: the aborted batch's sent rows
	waitEmpty(t, pool, table, 30*time.Second)
}
