package outbox_test

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// withAppName is dsn with application_name set, so that a test can find
// the sessions of one relay in pg_stat_activity.
func withAppName(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn + " application_name=" + name
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestFrozenRelayReleasesItsKeys: a relay process frozen (SIGSTOP) in the
// middle of a batch holds the oldest rows of its keys. PostgreSQL ends
// its transaction once it was idle for 3 x send-timeout, and a healthy
// relay then sends every key's rows, in order, while the frozen one is
// still stopped. (Without the bound the rows stay locked until the
// server's TCP keepalive gives up on the connection: hours.)
func TestFrozenRelayReleasesItsKeys(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	const keys, n = 4, 100
	writer := startApp(t, br, appSpec{table: table})
	produceBulk(t, writer.ob, pool, keys, n)

	appName := "fixob_frozen_" + strconv.Itoa(os.Getpid())
	y := "stream:\n  function: { definition: slow }\n  default-binder: memory\n  shutdown-timeout: 1s\n  output-bindings: events\n  binders:\n    memory: { type: memory }\n" +
		"  bindings:\n    events: { destination: evt }\n    slow-in-0: { destination: evt, group: g }\n"
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childKind+"=memory", childYAML+"="+y, childTable+"="+table, childBatch+"=400",
		childSlow+"=10ms", childSendTimeout+"=1s", childAppName+"="+appName)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a stopped process dies of SIGKILL too
		_ = cmd.Wait()
	})
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
		}
	}()

	ctx := context.Background()
	childInTx := func() bool {
		var c int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'", appName).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c > 0
	}
	// Freeze the child while it is in a batch that sent part of the table:
	// stop it, look, and let it go on if it was between batches.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if rowCount(t, pool, table) < keys*n && childInTx() {
			if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			if childInTx() {
				break
			}
			if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay child was not seen in a batch within 60s")
		}
		time.Sleep(5 * time.Millisecond) // polling pg_stat_activity
	}
	frozenAt := time.Now()
	left := rowCount(t, pool, table)
	if left == 0 {
		t.Fatal("no rows left to hold back")
	}
	var firstSeq = map[string]int{}
	rows, err := pool.Query(ctx, "SELECT DISTINCT ON (key) convert_from(key, 'UTF8'), (convert_from(payload, 'UTF8')::jsonb->>'seq')::int FROM "+table+" ORDER BY key, id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var seq int
		if err := rows.Scan(&k, &seq); err != nil {
			t.Fatal(err)
		}
		firstSeq[k] = seq
	}
	rows.Close()

	// A healthy relay (send-timeout default) sends all of it, in order,
	// while the child is still frozen.
	healthy := startApp(t, br, appSpec{consume: true, relay: true, table: table})
	waitEmpty(t, pool, table, 60*time.Second)
	t.Logf("froze the child with %d rows left; a healthy relay emptied the table %s later", left, time.Since(frozenAt).Round(time.Millisecond))
	if childInTx() {
		t.Error("the frozen relay's session is still in its transaction")
	}
	next := firstSeq
	for total := 0; total < left; {
		m := receive(t, healthy.got, 30*time.Second)
		e := m.Payload
		switch {
		case e.Seq == next[e.Key]:
			next[e.Key]++
			total++
		case e.Seq < next[e.Key]:
			// A row the frozen relay had sent before it froze is sent
			// again: at least once.
		default:
			t.Fatalf("key %s: got seq %d, want %d", e.Key, e.Seq, next[e.Key])
		}
	}
}

// TestReservedWordTableNames: table names that are SQL keywords are names.
func TestReservedWordTableNames(t *testing.T) {
	t.Parallel()
	pool, schema := outboxtest.Schema(t)
	br := newBroker(t, "memory")
	ctx := context.Background()
	for _, name := range []string{"user", "order", "select", "end", "table"} {
		table := schema + "." + name
		if err := (outbox.Config{Table: table}).Validate(); err != nil {
			t.Fatalf("Validate(%q): %v", table, err)
		}
		for range 2 { // idempotent
			if err := outbox.Migrate(ctx, pool, table); err != nil {
				t.Fatalf("Migrate(%q): %v", table, err)
			}
		}
	}
	table := schema + ".order"
	a := startApp(t, br, appSpec{consume: true, relay: true, table: table})
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := a.ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	if m := receive(t, a.got, 30*time.Second); m.Payload != (event{Key: "k", Seq: 0}) {
		t.Errorf("got %+v", m.Payload)
	}
	waitEmpty(t, pool, `"`+schema+`"."order"`, 30*time.Second)
}

// TestNilAndEmptyInputs: nil or empty arguments of the public API are
// errors naming them, not panics.
func TestNilAndEmptyInputs(t *testing.T) {
	pool, table := migrate(t)
	a := startApp(t, newBroker(t, "memory"), appSpec{table: table})
	ctx := context.Background()
	var nilPool *pgxpool.Pool
	var nilTx pgx.Tx
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil tx", a.ob.Send(ctx, nil, "events", "x"), "tx is nil"},
		{"nil pgx.Tx", a.ob.Send(ctx, nilTx, "events", "x"), "tx is nil"},
		{"nil pool", a.ob.Send(ctx, nilPool, "events", "x"), "tx is nil"},
		{"empty name", a.ob.Send(ctx, pool, "", "x"), "name is empty"},
		{"nil outbox", (*outbox.Outbox)(nil).Send(ctx, pool, "events", "x"), "nil *Outbox"},
		{"migrate nil db", outbox.Migrate(ctx, nil, table), "db is nil"},
		{"migrate nil pool", outbox.Migrate(ctx, nilPool, table), "db is nil"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %q", tc.name, tc.err, tc.want)
		}
	}
	if n := rowCount(t, pool, table); n != 0 {
		t.Errorf("%d rows stored", n)
	}
	// A nil option is ignored; a nil value is stored as a direct send
	// would encode it.
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := a.ob.Send(ctx, tx, "events", "x", nil); err != nil {
			t.Errorf("nil option: %v", err)
		}
	})
	// The relay of an outbox without one is nil; its methods are safe.
	var r *outbox.Relay
	if r.Relayed() != 0 || r.Batches() != 0 || r.SetAside() != 0 || r.Health(ctx) != nil || r.Name() != "" {
		t.Error("nil *Relay methods")
	}
	if (*outbox.Outbox)(nil).Relay() != nil || (*outbox.Outbox)(nil).Table() != "" {
		t.Error("nil *Outbox methods")
	}
}

// TestHeaderBytesRoundTrip: header keys and values that are not valid
// UTF-8, or hold NUL, arrive as a direct send delivers them.
func TestHeaderBytesRoundTrip(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	a := startApp(t, newBroker(t, "memory"), appSpec{consume: true, relay: true, table: table})
	ctx := context.Background()
	hdr := []string{"bad", "\xff\xfeA", "nul", "a\x00b", "k\xc3", "v", "plain", "é"}
	msg := stream.NewMessage(event{Key: "h", Seq: 0}, hdr...)
	if err := a.app.Bridge().Send(ctx, "events", msg); err != nil {
		t.Fatal(err)
	}
	direct := receive(t, a.got, 30*time.Second)
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := a.ob.Send(ctx, tx, "events", msg, outbox.Header("opt\xff", "\x00")); err != nil {
			t.Fatal(err)
		}
	})
	via := receive(t, a.got, 30*time.Second)
	for i := 0; i < len(hdr); i += 2 {
		k, v := hdr[i], hdr[i+1]
		if direct.Headers.Get(k) != v {
			t.Fatalf("the direct send changed header %q: %q (the test's premise)", k, direct.Headers.Get(k))
		}
		if got := via.Headers.Get(k); got != v {
			t.Errorf("header %q: outbox %q, want %q", k, got, v)
		}
	}
	if got := via.Headers.Get("opt\xff"); got != "\x00" {
		t.Errorf("Header option: %q", got)
	}
	// Plain headers stay a readable JSON object.
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := a.ob.Send(ctx, tx, "events", event{Key: "p"}, outbox.Header("x", "y")); err != nil {
			t.Fatal(err)
		}
	})
	receive(t, a.got, 30*time.Second)
}

// TestUndecodableRowSetAside: rows whose stored headers cannot be read
// (written by hand) are set aside — dead_at set, last_error says why,
// counted — and their key's later rows are sent. Migrate adds dead_at to
// a table made without it.
func TestUndecodableRowSetAside(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "ALTER TABLE "+table+" DROP COLUMN dead_at"); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Migrate(ctx, pool, table); err != nil {
		t.Fatalf("Migrate of a table without dead_at: %v", err)
	}
	br := newBroker(t, "memory")
	a := startApp(t, br, appSpec{consume: true, table: table})
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := a.ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{`{"n":1}`, `"s"`, `["eA=="]`, `["!", "eA=="]`} {
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, key, payload, headers) VALUES ('events', 'k', '{}', $1::jsonb)", h); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i < 3; i++ {
			if err := a.ob.Send(ctx, tx, "events", event{Key: "k", Seq: i}, outbox.Key("k")); err != nil {
				t.Fatal(err)
			}
		}
	})
	relay := startApp(t, br, appSpec{relay: true, table: table})
	if dups := checkOrder(t, a.got, 1, 3, 30*time.Second); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var live, aside int
		if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE dead_at IS NULL), count(*) FILTER (WHERE dead_at IS NOT NULL AND last_error LIKE 'set aside: row % cannot be sent: headers%') FROM "+table).Scan(&live, &aside); err != nil {
			t.Fatal(err)
		}
		if live == 0 && aside == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows live, %d set aside; want 0 and 4", live, aside)
		}
		time.Sleep(20 * time.Millisecond) // polling the table's state
	}
	relay.stop()
	if n := relay.ob.Relay().SetAside(); n != 4 {
		t.Errorf("SetAside() = %d, want 4", n)
	}
}
