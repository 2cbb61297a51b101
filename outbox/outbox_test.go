package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// event is what the tests send: a key and its sequence number.
type event struct {
	Key string `json:"key"`
	Seq int    `json:"seq"`
}

// broker is one binder type with what the apps of a test need to share it.
type broker struct {
	kind    string
	yaml    string // the binders section
	options []stream.Option
}

// brokers returns the binder kinds the tests run on: the in-process
// binder, Kafka (kfake) and RabbitMQ (a vhost of the test's own).
var brokerKinds = []string{"memory", "kafka", "rabbit"}

func newBroker(t testing.TB, kind string) broker {
	t.Helper()
	switch kind {
	case "memory":
		b, err := memory.NewBroker(memory.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close(context.Background()) })
		return broker{kind: kind, yaml: "    memory: { type: memory }\n",
			options: []stream.Option{stream.WithBinderType(memory.Type, memory.Factory(b))}}
	case "kafka":
		brokers := kafkatest.Start(t).Brokers()
		return broker{kind: kind, yaml: fmt.Sprintf("    kafka: { type: kafka, environment: { brokers: %q } }\n", brokers),
			options: []stream.Option{stream.WithBinderType(kafka.Type, kafka.New)}}
	case "rabbit":
		rabbittest.Require(t)
		vhost := rabbittest.VHost(t)
		return broker{kind: kind, yaml: fmt.Sprintf("    rabbit: { type: rabbit, environment: { addresses: %q, virtual-host: %q } }\n", rabbittest.Address(), vhost),
			options: []stream.Option{stream.WithBinderType(rabbit.Type, rabbit.New)}}
	}
	t.Fatalf("unknown broker %s", kind)
	return broker{}
}

// testApp is an app with an output binding "events" (destination evt),
// optionally a consumer of evt, and an outbox on table.
type testApp struct {
	app  *stream.App
	ob   *outbox.Outbox
	got  chan stream.Message[event]
	stop func()
}

type appSpec struct {
	consume   bool   // bind collect-in-0 to evt (group g)
	relay     bool   // run a relay
	table     string // schema.outbox
	batchSize int
	extraYAML string // more bindings
	outputs   string // more output bindings: ";a;b"
	topYAML   string // more keys of the stream section
	dsn       string
	producer  string        // producer keys of the events binding, YAML flow entries
	poll      time.Duration // poll-interval; default 200ms
	logger    *slog.Logger  // the outbox's; default testLogger()
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startApp(t testing.TB, br broker, s appSpec) *testApp {
	t.Helper()
	y := "stream:\n  default-binder: " + br.kind + "\n  shutdown-timeout: 20s\n  output-bindings: events" + s.outputs + "\n  binders:\n" + br.yaml +
		"  bindings:\n    events: { destination: evt, producer: { " + s.producer + " } }\n"
	if s.consume {
		y += "    collect-in-0: { destination: evt, group: g }\n"
	}
	y += s.extraYAML
	y = strings.Replace(y, "stream:\n", "stream:\n"+s.topYAML, 1)
	if s.consume {
		y = strings.Replace(y, "stream:\n", "stream:\n  function: { definition: collect }\n", 1)
	}
	loaded, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y)
	}
	ta := &testApp{got: make(chan stream.Message[event], 100000)}
	fns := stream.NewCatalog()
	if s.consume {
		stream.AddConsumer(fns, "collect", func(_ context.Context, m stream.Message[event]) error {
			ta.got <- m
			return nil
		})
	}
	opts := append([]stream.Option{stream.WithLogger(testLogger()), stream.WithoutSignals()}, br.options...)
	app, err := stream.NewApp(loaded.Stream, fns, opts...)
	if err != nil {
		t.Fatal(err)
	}
	relay := s.relay
	dsn := s.dsn
	if dsn == "" {
		dsn = outboxtest.DSN()
	}
	poll := s.poll
	if poll == 0 {
		poll = 200 * time.Millisecond
	}
	logger := s.logger
	if logger == nil {
		logger = testLogger()
	}
	ta.ob, err = outbox.New(app, outbox.Config{Table: s.table, DSN: dsn, BatchSize: s.batchSize, PollInterval: poll, Relay: &relay},
		outbox.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ta.app = app
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("app did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("app not ready within 60s")
	}
	var once sync.Once
	ta.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("app stopped with: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Error("app did not stop within 60s")
			}
		})
	}
	t.Cleanup(ta.stop)
	return ta
}

// migrate creates the outbox table in a schema of the test's own.
func migrate(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	pool, schema := outboxtest.Schema(t)
	table := schema + ".outbox"
	ctx := context.Background()
	if err := outbox.Migrate(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Migrate(ctx, pool, table); err != nil { // idempotent
		t.Fatalf("second migration: %v", err)
	}
	return pool, table
}

// inTx runs f in a transaction, committed when commit is true.
func inTx(t testing.TB, pool *pgxpool.Pool, commit bool, f func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after a t.Fatal in f; a no-op after Commit
	f(tx)
	if commit {
		err = tx.Commit(ctx)
	} else {
		err = tx.Rollback(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func rowCount(t testing.TB, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitEmpty waits until the relay deleted every row.
func waitEmpty(t testing.TB, pool *pgxpool.Pool, table string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for rowCount(t, pool, table) > 0 {
		if time.Now().After(deadline) {
			var id, attempts int
			var lastErr string
			_ = pool.QueryRow(context.Background(), "SELECT id, attempts, coalesce(last_error, '') FROM "+table+" ORDER BY id LIMIT 1").Scan(&id, &attempts, &lastErr)
			t.Fatalf("%d rows still in %s after %s (the first: id %d, %d failed attempts, last error %q); the relays' goroutines:\n%s", rowCount(t, pool, table), table, within, id, attempts, lastErr, relayStacks())
		}
		time.Sleep(20 * time.Millisecond) // polling the database's state, not hoping for it
	}
}

func receive(t testing.TB, ch <-chan stream.Message[event], within time.Duration) stream.Message[event] {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(within):
		t.Fatalf("no message within %s", within)
	}
	return stream.Message[event]{}
}

func TestRollbackSendsNothingCommitSendsItsMessages(t *testing.T) {
	t.Parallel()
	for _, kind := range brokerKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			pool, table := migrate(t)
			br := newBroker(t, kind)
			a := startApp(t, br, appSpec{consume: true, relay: true, table: table})
			ctx := context.Background()
			inTx(t, pool, false, func(tx pgx.Tx) {
				for i := range 3 {
					if err := a.ob.Send(ctx, tx, "events", event{Key: "rolled-back", Seq: i}, outbox.Key("k")); err != nil {
						t.Fatal(err)
					}
				}
			})
			inTx(t, pool, true, func(tx pgx.Tx) {
				for i := range 3 {
					if err := a.ob.Send(ctx, tx, "events", event{Key: "committed", Seq: i}, outbox.Key("k")); err != nil {
						t.Fatal(err)
					}
				}
			})
			for i := range 3 {
				m := receive(t, a.got, 30*time.Second)
				if m.Payload != (event{Key: "committed", Seq: i}) {
					t.Fatalf("message %d: got %+v", i, m.Payload)
				}
				if m.Headers.Get(stream.HeaderID) == "" {
					t.Errorf("message %d has no id header", i)
				}
			}
			waitEmpty(t, pool, table, 30*time.Second)
			a.stop()
			if n := a.ob.Relay().Relayed(); n != 3 {
				t.Errorf("relay sent %d messages, want exactly the 3 committed", n)
			}
			select {
			case m := <-a.got:
				t.Errorf("unexpected message %+v", m.Payload)
			default:
			}
		})
	}
}

// TestEncodedAsADirectSend: the relay's message has the payload, content
// type, key and partition a direct bridge send of the same value has.
func TestEncodedAsADirectSend(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	extra := "    parts: { destination: partd, content-type: text/plain, producer: { partition-key-expression: headers.customer, partition-count: 4 } }\n"
	a := startApp(t, br, appSpec{relay: true, table: table, extraYAML: extra, outputs: ";parts"})
	// A second app consumes partd raw, to see the envelopes.
	got := make(chan stream.Message[[]byte], 10)
	y := "stream:\n  function: { definition: partsIn }\n  default-binder: memory\n  binders:\n" + br.yaml +
		"  bindings:\n    partsIn-in-0: { destination: partd, group: p }\n"
	loaded, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "partsIn", func(_ context.Context, m stream.Message[[]byte]) error { got <- m; return nil })
	consumer, err := stream.NewApp(loaded.Stream, fns, append([]stream.Option{stream.WithoutSignals(), stream.WithLogger(testLogger())}, br.options...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-consumer.Ready()

	// "parts": text/plain, partitioned by a header.
	msg := stream.NewMessage("order-7", "customer", "c-42")
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := a.ob.Send(context.Background(), tx, "parts", msg); err != nil {
			t.Fatal(err)
		}
	})
	viaOutbox := receive2(t, got)
	if err := a.app.Bridge().Send(context.Background(), "parts", msg); err != nil {
		t.Fatal(err)
	}
	direct := receive2(t, got)
	if string(viaOutbox.Payload) != string(direct.Payload) {
		t.Errorf("payload: outbox %q, direct %q", viaOutbox.Payload, direct.Payload)
	}
	for _, h := range []string{stream.HeaderContentType, stream.HeaderPartition, "customer"} {
		if viaOutbox.Headers.Get(h) != direct.Headers.Get(h) || direct.Headers.Get(h) == "" {
			t.Errorf("header %s: outbox %q, direct %q", h, viaOutbox.Headers.Get(h), direct.Headers.Get(h))
		}
	}
}

func receive2(t *testing.T, ch <-chan stream.Message[[]byte]) stream.Message[[]byte] {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no message within 30s")
	}
	return stream.Message[[]byte]{}
}

// produce stores n messages for each of keys, one transaction per
// message, from one goroutine per key (so each key's messages are stored
// one after the other: their order is the order to keep).
func produce(t *testing.T, ob *outbox.Outbox, pool *pgxpool.Pool, keys, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, keys)
	for k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			key := fmt.Sprintf("k%d", k)
			for i := range n {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					return ob.Send(ctx, tx, "events", event{Key: key, Seq: i}, outbox.Key(key))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// checkOrder reads total messages and checks that each key's messages came
// in order; duplicates (a message seen again) are counted, and allowed only
// as a repetition of messages already seen (a redelivered batch).
func checkOrder(t *testing.T, ch <-chan stream.Message[event], keys, n int, within time.Duration) (dups int) {
	t.Helper()
	next := map[string]int{} // next new seq expected per key
	deadline := time.After(within)
	for seen := 0; seen < keys*n; {
		select {
		case m := <-ch:
			e := m.Payload
			switch {
			case e.Seq == next[e.Key]:
				next[e.Key]++
				seen++
			case e.Seq < next[e.Key]:
				dups++
			default:
				t.Fatalf("key %s: got seq %d, want %d: a message was reordered or lost", e.Key, e.Seq, next[e.Key])
			}
		case <-deadline:
			t.Fatalf("only %d of %d messages within %s (next per key: %v)", seen, keys*n, within, next)
		}
	}
	return dups
}

// TestTwoRelaysKeepOrderPerKey: two relays (two apps) on one table, rows
// committed while they run; every message arrives once, in order per key.
func TestTwoRelaysKeepOrderPerKey(t *testing.T) {
	t.Parallel()
	for _, kind := range brokerKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			pool, table := migrate(t)
			br := newBroker(t, kind)
			const keys, n = 8, 150
			a := startApp(t, br, appSpec{consume: true, relay: true, table: table, batchSize: 7})
			b := startApp(t, br, appSpec{relay: true, table: table, batchSize: 5})
			produce(t, a.ob, pool, keys, n)
			if dups := checkOrder(t, a.got, keys, n, 120*time.Second); dups != 0 {
				t.Errorf("%d duplicates without a crash", dups)
			}
			waitEmpty(t, pool, table, 30*time.Second)
			// A relay counts a batch once its commit returned, a moment
			// after the rows are gone for everyone else: read the counts
			// once both relays stopped (Stop waits for the batch in flight).
			b.stop()
			a.stop()
			ra, rb := a.ob.Relay().Relayed(), b.ob.Relay().Relayed()
			t.Logf("relay a sent %d, relay b %d", ra, rb)
			if ra+rb != keys*n {
				t.Errorf("relays sent %d+%d, want %d in all", ra, rb, keys*n)
			}
			if ra == 0 || rb == 0 {
				t.Errorf("one relay sent nothing (%d, %d): the test did not exercise two relays", ra, rb)
			}
		})
	}
}
