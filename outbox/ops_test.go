package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// TestBacklogMetrics: with the relay not running, the rows stored show as
// the backlog, and the oldest one's age grows.
func TestBacklogMetrics(t *testing.T) {
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	app, err := stream.NewApp(&stream.Config{OutputBindings: "events"}, nil, append(br.options, stream.WithoutSignals())...)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(app, outbox.Config{Table: table, DSN: "postgres://postgres:s3cret@127.0.0.1:5432/test?sslmode=disable"}, outbox.Options{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ob.Relay())
	inTx(t, pool, true, func(tx pgx.Tx) {
		for range 3 {
			if err := ob.Send(context.Background(), tx, "events", "x"); err != nil {
				t.Fatal(err)
			}
		}
	})
	if _, err := pool.Exec(context.Background(), "UPDATE "+table+" SET created_at = now() - interval '90 seconds' WHERE id = (SELECT min(id) FROM "+table+")"); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		if l := m.GetLabel(); len(l) != 1 || l[0].GetValue() != table {
			t.Errorf("%s: labels %v", mf.GetName(), l)
		}
		got[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	if got["streambind_outbox_backlog_messages"] != 3 || got["streambind_outbox_database_up"] != 1 {
		t.Errorf("metrics %v, want a backlog of 3 and the database up", got)
	}
	if age := got["streambind_outbox_oldest_message_age_seconds"]; age < 90 || age > 200 {
		t.Errorf("oldest age %v, want about 90s", age)
	}
}

// TestReadinessWhenDatabaseUnreachable: a relay whose database refuses
// connections is reported down by App.Health (readiness), without its
// password.
func TestReadinessWhenDatabaseUnreachable(t *testing.T) {
	br := newBroker(t, "memory")
	app, err := stream.NewApp(&stream.Config{OutputBindings: "events"}, nil, append(br.options, stream.WithoutSignals(), stream.WithLogger(testLogger()))...)
	if err != nil {
		t.Fatal(err)
	}
	// Port 1 on loopback: nothing listens, the connection is refused.
	if _, err := outbox.New(app, outbox.Config{DSN: "postgres://app:s3cret@127.0.0.1:1/app?connect_timeout=2", PollInterval: 50 * time.Millisecond}, outbox.Options{Logger: testLogger()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-app.Ready()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var h *stream.BinderHealth
		for _, x := range app.Health(ctx) {
			if x.Name == "outbox:outbox" {
				h = &x
			}
		}
		if h == nil {
			t.Fatal("App.Health does not list the relay")
		}
		if !h.Up {
			if strings.Contains(h.Error, "s3cret") {
				t.Errorf("health error shows the password: %s", h.Error)
			}
			t.Logf("relay down: %s", h.Error)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay still reports up after 30s with its database unreachable")
		}
		time.Sleep(20 * time.Millisecond) // polling the relay's reported state
	}
}

func TestConfigFromYAML(t *testing.T) {
	y := "outbox:\n  table: shop.outbox\n  dsn: ${OUTBOX_DSN:postgres://localhost/shop}\n  poll-interval: 250ms\n  batch-size: 500\n"
	loaded, err := config.Load(config.Options{Data: []byte(y), Env: []string{"OUTBOX_DSN=postgres://db/prod"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := outbox.FromConfig(loaded)
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "shop.outbox" || c.DSN != "postgres://db/prod" || c.PollInterval != 250*time.Millisecond || c.BatchSize != 500 ||
		c.Concurrency != outbox.DefaultConcurrency || c.SendTimeout != outbox.DefaultSendTimeout || !c.RelayEnabled() {
		t.Errorf("decoded %+v", c)
	}
	if strings.Contains(c.String(), "prod") {
		t.Errorf("String shows the DSN: %s", c)
	}

	loaded, err = config.Load(config.Options{Data: []byte("outbox:\n  relay: false\n"), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = outbox.FromConfig(loaded); err != nil || c.RelayEnabled() {
		t.Errorf("relay: false decoded as %+v, %v", c, err)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"outbox:\n  tabel: x\n", "outbox.tabel"},
		{"outbox:\n  batch-size: -1\n", "outbox.batch-size (application.yaml:2): is -1"},
		{"outbox:\n  batch-size: lots\n", "outbox.batch-size"},
		{"outbox:\n  table: Public.Outbox\n", "outbox.table"},
		{"outbox:\n  table: a.b.c\n", "outbox.table"},
		{"outbox:\n  poll-interval: 1ms\n", "outbox.poll-interval"},
		{"outbox:\n  poll-interval: 0\n", "outbox.poll-interval (application.yaml:2): is 0"}, // not the default: an explicit 0 is an error
		{"outbox:\n  concurrency: 0\n", "outbox.concurrency (application.yaml:2): is 0"},
	} {
		loaded, err := config.Load(config.Options{Data: []byte(tc.yaml), Env: []string{}})
		if err == nil {
			_, err = outbox.FromConfig(loaded)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %s", tc.yaml, err, tc.want)
		}
	}
}

// TestDatabaseSQL: Migrate and Send through database/sql (pgx's stdlib
// driver) with outbox.SQL.
func TestDatabaseSQL(t *testing.T) {
	_, schema := outboxtest.Schema(t)
	table := schema + ".outbox_sql"
	db, err := sql.Open("pgx", outboxtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := outbox.Migrate(ctx, outbox.SQL(db), table); err != nil {
		t.Fatal(err)
	}
	br := newBroker(t, "memory")
	a := startApp(t, br, appSpec{consume: true, relay: true, table: table})
	for _, commit := range []bool{false, true} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.ob.Send(ctx, outbox.SQL(tx), "events", event{Key: "sql", Seq: map[bool]int{false: 0, true: 1}[commit]}, outbox.Key("sql"), outbox.Header("origin", "database/sql")); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	m := receive(t, a.got, 30*time.Second)
	if m.Payload != (event{Key: "sql", Seq: 1}) || m.Headers.Get("origin") != "database/sql" {
		t.Errorf("got %+v %v, want the committed message with its header", m.Payload, m.Headers)
	}
}

// TestHeaderMessageKeyIsTheKey: a kafka_messageKey header given with
// outbox.Header (Spring Kafka's KafkaHeaders.KEY) is the message's key, as
// on a Message output, and is not sent on as a header. It was sent as a
// plain header, the message going without a key.
func TestHeaderMessageKeyIsTheKey(t *testing.T) {
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	a := startApp(t, br, appSpec{consume: true, relay: true, table: table})
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := a.ob.Send(context.Background(), tx, "events", event{Key: "hk", Seq: 0}, outbox.Header(stream.HeaderMessageKey, "hk"), outbox.Header("origin", "test")); err != nil {
			t.Fatal(err)
		}
	})
	m := receive(t, a.got, 30*time.Second)
	if string(m.Key) != "hk" {
		t.Errorf("key %q, want %q (the kafka_messageKey header)", m.Key, "hk")
	}
	if _, ok := m.Headers[stream.HeaderMessageKey]; ok || m.Headers.Get("origin") != "test" {
		t.Errorf("headers %v: want origin and no %s", m.Headers, stream.HeaderMessageKey)
	}
}

// TestSendRefusesBadInput: what cannot be sent as the bridge would send it
// is an error of Send, and nothing is stored.
func TestSendRefusesBadInput(t *testing.T) {
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	extra := "    parts: { destination: partd, producer: { partition-key-expression: headers.customer, partition-count: 4 } }\n" +
		"    plain: { destination: plaind, content-type: text/plain }\n"
	a := startApp(t, br, appSpec{relay: false, table: table, extraYAML: extra, outputs: ";parts;plain"})
	ctx := context.Background()
	for _, tc := range []struct {
		name, target string
		value        any
		opts         []outbox.SendOption
		want         string
	}{
		{"no partition key", "parts", "x", nil, "partition key"},
		// The value's key and the option: not "on a partitioned binding",
		// which events is not (the error said so of a keyed Message).
		{"key beside a Message's key", "events", stream.Message[string]{Payload: "x", Key: []byte("m")}, []outbox.SendOption{outbox.Key("k")}, "Key option beside the key of the value"},
		{"key beside a Message's kafka_messageKey", "events", stream.NewMessage("x", stream.HeaderMessageKey, "m"), []outbox.SendOption{outbox.Key("k")}, "Key option beside the key of the value"},
		{"kafka_messageKey header beside Key", "events", "x", []outbox.SendOption{outbox.Key("k"), outbox.Header(stream.HeaderMessageKey, "m")}, "Key option beside a kafka_messageKey header"},
		{"kafka_messageKey header beside a Message's key", "events", stream.Message[string]{Payload: "x", Key: []byte("m")}, []outbox.SendOption{outbox.Header(stream.HeaderMessageKey, "h")}, "kafka_messageKey header beside the key of the value"},
		{"key beside a *Message's key", "parts", &stream.Message[string]{Payload: "x", Headers: stream.Headers{"customer": "c-1"}, Key: []byte("m")}, []outbox.SendOption{outbox.Key("k")}, "Key option beside the key of the value"},
		{"not text", "plain", struct{ A int }{1}, nil, "text/plain"},
		{"not JSON", "events", func() {}, nil, "json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTx(t, pool, true, func(tx pgx.Tx) {
				err := a.ob.Send(ctx, tx, tc.target, tc.value, tc.opts...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Send: %v, want an error about %q", err, tc.want)
				}
			})
			if n := rowCount(t, pool, table); n != 0 {
				t.Errorf("%d rows stored", n)
			}
		})
	}
}

// TestStopMidTable: an app stopped while its relay works through the table
// lets the batch in flight finish: nothing is lost, nothing sent twice, and
// the next relay sends the rest.
func TestStopMidTable(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	const keys, n = 10, 100
	consumer := startApp(t, br, appSpec{consume: true, table: table})
	produceBulk(t, consumer.ob, pool, keys, n)
	first := startApp(t, br, appSpec{relay: true, table: table, batchSize: 20})
	var got []stream.Message[event]
	got = append(got, receive(t, consumer.got, 30*time.Second))
	first.stop() // fails the test if Run returns an error (an aborted batch)
	left := rowCount(t, pool, table)
	t.Logf("stopped the relay once it had relayed %d messages; %d rows left", first.ob.Relay().Relayed(), left)
	if left == 0 {
		t.Skip("the relay sent everything before it was stopped: nothing to check")
	}
	if sent := int(first.ob.Relay().Relayed()); sent+left != keys*n {
		t.Errorf("relayed %d + left %d != %d stored: rows lost or kept after sending", sent, left, keys*n)
	}
	ch := make(chan stream.Message[event], keys*n*2)
	for _, m := range got {
		ch <- m
	}
	stopForward := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case m := <-consumer.got:
				ch <- m
			case <-stopForward:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stopForward); <-forwarded })
	startApp(t, br, appSpec{relay: true, table: table})
	if dups := checkOrder(t, ch, keys, n, 60*time.Second); dups != 0 {
		t.Errorf("%d duplicates after a graceful stop", dups)
	}
}

// TestFailingKeyDoesNotStarveOthers: more rows of a key that cannot be
// sent than a batch holds, oldest first: the other keys are sent all the
// same, and the failing rows stay with their attempts counted. Also at
// the shortest poll-interval, 10ms, shorter than the relay's way from a
// failed batch to its next claim: a failed key was blocked for
// poll-interval only, so its rows filled every batch (0 of 20 sent; seen
// at 200ms in CI under load).
func TestFailingKeyDoesNotStarveOthers(t *testing.T) {
	for _, poll := range []time.Duration{200 * time.Millisecond, 10 * time.Millisecond} {
		t.Run(poll.String(), func(t *testing.T) { failingKeyDoesNotStarveOthers(t, poll) })
	}
}

func failingKeyDoesNotStarveOthers(t *testing.T, poll time.Duration) {
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	a := startApp(t, br, appSpec{consume: true, table: table})
	// The relay's app allows no dynamic destination but evt: every send of
	// these fails.
	for i := range 30 {
		if _, err := pool.Exec(context.Background(), "INSERT INTO "+table+" (name, key, payload) VALUES ('nowhere', 'bad', $1)", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	produce(t, a.ob, pool, 4, 5)
	startApp(t, br, appSpec{relay: true, table: table, batchSize: 10, poll: poll, topYAML: "  dynamic-destinations: [evt]\n"})
	if dups := checkOrder(t, a.got, 4, 5, 30*time.Second); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	// The good rows' deletion commits just after their sends were confirmed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left, attempts int
		if err := pool.QueryRow(context.Background(), "SELECT count(*), coalesce(max(attempts), 0) FROM "+table).Scan(&left, &attempts); err != nil {
			t.Fatal(err)
		}
		if left == 30 && attempts >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left with at most %d attempts; want the 30 failing rows, attempts counted", left, attempts)
		}
		time.Sleep(20 * time.Millisecond) // polling the table's state
	}
}

// TestNotificationsAfterBusyPeriods: with a poll-interval of an hour only
// notifications wake the relay. It stops listening while bursts keep it
// busy and listens again once it caught up: a lone message after each
// burst still arrives.
func TestNotificationsAfterBusyPeriods(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	a := startApp(t, newBroker(t, "memory"), appSpec{consume: true, relay: true, table: table, poll: time.Hour})
	ctx := context.Background()
	send := func(seq int) {
		inTx(t, pool, true, func(tx pgx.Tx) {
			if err := a.ob.Send(ctx, tx, "events", event{Key: "k", Seq: seq}, outbox.Key("k")); err != nil {
				t.Fatal(err)
			}
		})
	}
	seq := 0
	for round := range 3 {
		for range 300 { // a burst, one transaction each
			send(seq)
			seq++
		}
		send(seq) // after the burst: sent once the relay caught up, or later by its notification
		seq++
		for want := seq - 301; want < seq; want++ {
			if m := receive(t, a.got, 30*time.Second); m.Payload.Seq != want {
				t.Fatalf("round %d: got seq %d, want %d", round, m.Payload.Seq, want)
			}
		}
		waitEmpty(t, pool, table, 30*time.Second)
		waitListening(t, pool, table)
		send(seq) // the relay is idle: only a notification can wake it
		if m := receive(t, a.got, 30*time.Second); m.Payload.Seq != seq {
			t.Fatalf("round %d: lone message: got seq %d, want %d", round, m.Payload.Seq, seq)
		}
		seq++
	}
}

// waitListening waits until the relay's listener connection last ran
// LISTEN on table's channel (pg_stat_activity shows an idle session's last
// statement): the relay caught up and waits for notifications.
func waitListening(t *testing.T, pool *pgxpool.Pool, table string) {
	t.Helper()
	q := `SELECT count(*) FROM pg_stat_activity WHERE state = 'idle' AND query = $1`
	stmt := "LISTEN " + pgx.Identifier{"outbox_" + table}.Sanitize()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := pool.QueryRow(context.Background(), q, stmt).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay did not listen again (%q) within 30s", stmt)
		}
		time.Sleep(10 * time.Millisecond) // polling the database's state
	}
}
