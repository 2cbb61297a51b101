package idempotency_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/internal/testparallel"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// parallelTests is how many parallel tests (and subtests) run at least
// at once when -parallel is not given: the tests wait on PostgreSQL, Redis,
// RabbitMQ, kfake, leases and store timeouts rather than compute (go test
// -race -count=1 ./idempotency alone, on a 2-core machine loaded by other
// work: 59 s and 71 s with every test in turn; 37-41 s with 4 at a time,
// 36-38 s with 6, 30 s with 8; at most 21 PostgreSQL connections). The tests
// left serial bound the store's round trips to 200ms or set the package's
// round-trip hook; TestDuplicateWaitsWithFullPool's two subtests run in
// parallel with each other only (a store timeout of 1s with its pool full).
const parallelTests = 6

func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	goleak.VerifyTestMain(rabbittest.Wrap(m))
}

// order is what the tests send.
type order struct {
	N int `json:"n"`
}

// broker is one binder type with what the apps of a test need to share it.
type broker struct {
	kind    string
	yaml    string // the binders section
	options []stream.Option
}

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

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// stores are the store back-ends of a test: the PostgreSQL pool and
// marks table (a schema of the test's own), the Redis client and key
// prefix (cleaned when the test ends).
type stores struct {
	pool   *pgxpool.Pool
	sqlDB  *sql.DB // set: the store runs on database/sql (Options.DB), not on pool
	schema string
	redis  *goredis.Client
	prefix string
	memory *idempotency.MemoryStore
	lease  time.Duration // idempotency.redis.lease; default 2s
	table  string        // idempotency.postgres.table; default <schema>.marks
	logger *slog.Logger  // Options.Logger; default testLogger()
	// own: New opens its pool and client from the DSN and URL.
	own bool
	// storePool replaces pool as the store's (Options.Pool); pool stays
	// the test's own (count).
	storePool *pgxpool.Pool
	// storeTimeout is Options.StoreTimeout.
	storeTimeout time.Duration
	// purgeInterval is idempotency.postgres.purge-interval.
	purgeInterval time.Duration
}

func newStores(t testing.TB, store string) *stores {
	t.Helper()
	s := &stores{memory: idempotency.NewMemoryStore()}
	switch store {
	case "postgres":
		s.pool, s.schema = outboxtest.Schema(t)
		ctx := context.Background()
		for range 2 { // Migrate is idempotent
			if err := idempotency.Migrate(ctx, s.pool, s.schema+".marks"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.pool.Exec(ctx, "CREATE TABLE "+s.schema+".effects (n int NOT NULL)"); err != nil {
			t.Fatal(err)
		}
	case "redis":
		redistest.Require(t)
		s.redis = redistest.Client(t, redistest.Addr(), "", "")
		s.prefix = redistest.Prefix(t)
	}
	return s
}

func (s *stores) config() idempotency.Config {
	c := idempotency.Config{}
	if s.schema != "" {
		c.Postgres.Table = s.schema + ".marks"
	}
	if s.table != "" {
		c.Postgres.Table = s.table
	}
	c.Redis.KeyPrefix = s.prefix
	if s.own {
		c.Postgres.DSN = outboxtest.DSN()
		c.Redis.URL = "redis://" + redistest.Addr() + "/0"
	}
	c.Postgres.PurgeInterval = s.purgeInterval
	c.Redis.Lease = 2 * time.Second
	if s.lease != 0 {
		c.Redis.Lease = s.lease
	}
	return c
}

func (s *stores) options() idempotency.Options {
	log := s.logger
	if log == nil {
		log = testLogger()
	}
	if s.own {
		return idempotency.Options{Logger: log, StoreTimeout: s.storeTimeout}
	}
	if s.sqlDB != nil {
		return idempotency.Options{DB: s.sqlDB, Redis: s.redis, Memory: s.memory, Logger: log, StoreTimeout: s.storeTimeout}
	}
	pool := s.pool
	if s.storePool != nil {
		pool = s.storePool
	}
	return idempotency.Options{Pool: pool, Redis: s.redis, Memory: s.memory, Logger: log, StoreTimeout: s.storeTimeout}
}

// count returns the rows of the test's table.
func (s *stores) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+s.schema+"."+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testApp is an app with an output binding "events" (destination evt) and
// the consumer handle-in-0 on evt with an idempotent consumer.
type testApp struct {
	app  *stream.App
	idem *idempotency.Consumer
	stop func()
	// stopped checks Run's result once stop ended it; default: no error.
	stopped func(error)
}

type appSpec struct {
	store    string
	group    string // default g; "-" anonymous
	consumer string // more consumer keys, YAML flow entries
	keyExpr  string // consumer.idempotency.key-expression, YAML
	attempts int    // consumer.max-attempts; default 3
	shutdown string // stream.shutdown-timeout; default 20s
	handler  func(ctx context.Context, m stream.Message[order]) error
}

func startApp(t testing.TB, br broker, st *stores, s appSpec) *testApp {
	t.Helper()
	group := "group: g, "
	switch s.group {
	case "-":
		group = ""
	case "":
	default:
		group = "group: " + s.group + ", "
	}
	attempts := 3
	if s.attempts != 0 {
		attempts = s.attempts
	}
	shutdown := "20s"
	if s.shutdown != "" {
		shutdown = s.shutdown
	}
	y := "stream:\n  function: { definition: handle }\n  default-binder: " + br.kind + "\n  shutdown-timeout: " + shutdown + "\n  output-bindings: events\n  binders:\n" + br.yaml +
		"  bindings:\n    events: { destination: evt }\n" +
		"    handle-in-0: { destination: evt, " + group + "consumer: { max-attempts: " + strconv.Itoa(attempts) + ", back-off-initial-interval: 10ms, " + s.consumer
	if s.store != "" { // "": a plain consumer
		y += "idempotency: { store: " + s.store + ", retention: 1h" + s.keyExpr + " } "
	}
	y += "} }\n"
	loaded, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "handle", s.handler)
	opts := append([]stream.Option{stream.WithLogger(testLogger()), stream.WithoutSignals()}, br.options...)
	app, err := stream.NewApp(loaded.Stream, fns, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{app: app, stopped: func(err error) {
		if err != nil {
			t.Errorf("app stopped with: %v", err)
		}
	}}
	if ta.idem, err = idempotency.New(app, st.config(), st.options()); err != nil {
		t.Fatal(err)
	}
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
				ta.stopped(err)
			case <-time.After(60 * time.Second):
				t.Error("app did not stop within 60s")
			}
		})
	}
	t.Cleanup(ta.stop)
	return ta
}

// send sends order n with message id id through the app's output binding.
func (ta *testApp) send(t testing.TB, id string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ta.app.Bridge().Send(ctx, "events", stream.NewMessage(order{N: n}, stream.HeaderID, id)); err != nil {
		t.Fatal(err)
	}
}

// call is one handler call seen by a test.
type call struct {
	id string
	n  int
}

func receive(t testing.TB, ch <-chan call, within time.Duration) call {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(within):
		t.Fatalf("no handler call within %s", within)
		return call{}
	}
}

func uniqueID(t testing.TB, s string) string {
	return strings.ReplaceAll(t.Name(), "/", "-") + "-" + s
}

// holdingHandler returns a handler that writes the message's effect in
// store, tells entered, and returns once release is closed (or its ctx
// ends).
func holdingHandler(st *stores, store string) (h func(context.Context, stream.Message[order]) error, entered chan call, release chan struct{}) {
	return holdingHandlerOf(func(ctx context.Context, n int) error { return effect(withSchema(ctx, st.schema), store, n) })
}

// holdingHandlerOf is holdingHandler with the effect written by write.
func holdingHandlerOf(write func(ctx context.Context, n int) error) (h func(context.Context, stream.Message[order]) error, entered chan call, release chan struct{}) {
	entered = make(chan call, 10)
	release = make(chan struct{})
	h = func(ctx context.Context, m stream.Message[order]) error {
		if err := write(ctx, m.Payload.N); err != nil {
			return err
		}
		entered <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return h, entered, release
}

// waitMarkLockWaiter waits until one insert of a mark in st's schema waits
// on the mark's row lock (in pg_stat_activity).
func waitMarkLockWaiter(t testing.TB, st *stores, what string) {
	t.Helper()
	waitFor(t, 30*time.Second, what, func() bool {
		var n int
		err := st.pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO \""+st.schema+"\".\"marks\"%'").Scan(&n)
		return err == nil && n == 1
	})
}

// storeStaysUp fails the test if the readiness of the postgres store of
// st in any of apps is down; while says during what.
func storeStaysUp(t testing.TB, st *stores, while string, apps ...*testApp) {
	t.Helper()
	for _, a := range apps {
		if h := storeHealth(t, a, st); !h.Up {
			t.Fatalf("the store reported down while %s: %s", while, h.Error)
		}
	}
}

// waitSkippedAndStop waits until a1 or a2 skipped the duplicate (one in
// all), then stops both.
func waitSkippedAndStop(t testing.TB, a1, a2 *testApp) {
	t.Helper()
	waitFor(t, 30*time.Second, "the duplicate skipped", func() bool {
		return a1.idem.Stats("handle-in-0").Skipped+a2.idem.Stats("handle-in-0").Skipped == 1
	})
	a1.stop()
	a2.stop()
}

// noDuplicateRan fails the test if the handler told entered of another
// call.
func noDuplicateRan(t testing.TB, entered chan call) {
	t.Helper()
	select {
	case c := <-entered:
		t.Fatalf("the duplicate ran the handler: %+v", c)
	default:
	}
}

// startOnHandMadeTable makes st's marks table by hand, name in st's schema
// with columns, starts an app on it (dlq on) whose handler tells calls,
// sends it a message whose id is made of idPrefix, and waits until
// readiness reports the store down; it returns that readiness error.
func startOnHandMadeTable(t testing.TB, st *stores, name, columns, idPrefix string) (ta *testApp, calls chan call, id, readiness string) {
	t.Helper()
	st.table = st.schema + "." + name
	if _, err := st.pool.Exec(context.Background(), "CREATE TABLE "+st.table+" ("+columns+")"); err != nil {
		t.Fatal(err)
	}
	calls = make(chan call, 10)
	ta = startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", consumer: "dlq: true, ", handler: func(_ context.Context, m stream.Message[order]) error {
		calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
		return nil
	}})
	id = uniqueID(t, idPrefix)
	ta.send(t, id, 1)
	waitFor(t, 30*time.Second, "readiness to report the store down", func() bool {
		readiness = componentError(ta.app, "idempotency:"+st.table)
		return readiness != ""
	})
	return ta, calls, id, readiness
}

// txEffect inserts n into st's effects table in the delivery's transaction
// (pgx or database/sql).
func txEffect(ctx context.Context, st *stores, n int) error {
	q := "INSERT INTO " + st.schema + ".effects (n) VALUES ($1)"
	var err error
	if tx := idempotency.Tx(ctx); tx != nil {
		_, err = tx.Exec(ctx, q, n)
	} else {
		_, err = idempotency.SQLTx(ctx).ExecContext(ctx, q, n)
	}
	return err
}
