package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

var storeKinds = []string{"memory", "postgres", "redis"}

// effect is the handler's side effect: a row written in the framework's
// transaction (postgres), or nothing but the call itself.
func effect(ctx context.Context, store string, n int) error {
	tx := idempotency.Tx(ctx)
	if store != "postgres" {
		if tx != nil {
			return errors.New("a transaction in the context of a non-postgres store")
		}
		return nil
	}
	if tx == nil {
		return errors.New("no transaction in the context")
	}
	_, err := tx.Exec(ctx, "INSERT INTO effects (n) VALUES ($1)", n)
	return err
}

// TestDuplicateRunsHandlerOnce: the same message id sent twice runs the
// handler once, on every binder and store; the duplicate is acknowledged
// (the next message follows it) and counted.
func TestDuplicateRunsHandlerOnce(t *testing.T) {
	t.Parallel()
	for _, kind := range brokerKinds {
		for _, store := range storeKinds {
			t.Run(kind+"/"+store, func(t *testing.T) {
				t.Parallel()
				br := newBroker(t, kind)
				st := newStores(t, store)
				calls := make(chan call, 100)
				ta := startApp(t, br, st, appSpec{store: store, handler: func(ctx context.Context, m stream.Message[order]) error {
					// search_path is the pool's: qualify through the schema.
					if err := effect(withSchema(ctx, st.schema), store, m.Payload.N); err != nil {
						return err
					}
					calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
					return nil
				}})
				a, b := uniqueID(t, "a"), uniqueID(t, "b")
				ta.send(t, a, 1)
				ta.send(t, a, 1)
				ta.send(t, b, 2)
				if c := receive(t, calls, 30*time.Second); c != (call{a, 1}) {
					t.Fatalf("first call %+v, want %s 1", c, a)
				}
				if c := receive(t, calls, 30*time.Second); c != (call{b, 2}) {
					t.Fatalf("second call %+v, want %s 2 (the duplicate of %s ran the handler)", c, b, a)
				}
				// The duplicate was handled before b (one partition, one queue).
				waitStats(t, ta, 1, 2)
				ta.stop()
				select {
				case c := <-calls:
					t.Fatalf("unexpected call %+v", c)
				default:
				}
				if store == "postgres" {
					if n := st.count(t, "effects"); n != 2 {
						t.Fatalf("%d effects, want 2", n)
					}
					if n := st.count(t, "marks"); n != 2 {
						t.Fatalf("%d marks, want 2", n)
					}
				}
			})
		}
	}
}

// TestFailureAfterSideEffect: a handler that fails once after its side
// effect — retried in process, or left for the binder to redeliver — runs
// again. On PostgreSQL the failed attempt's write and mark are rolled back,
// so the effect happens once; on the other stores nothing was marked, so
// the handler ran twice (as documented) and the message is marked after
// the second run: a later duplicate is skipped.
func TestFailureAfterSideEffect(t *testing.T) {
	t.Parallel()
	type variant struct {
		name string
		fail error
	}
	variants := []variant{
		{"retry", errors.New("fails once")},
		{"redelivery", fmt.Errorf("%w: fails once", stream.ErrNak)},
	}
	for _, kind := range brokerKinds {
		for _, store := range storeKinds {
			for _, v := range variants {
				if kind != "memory" && v.name == "retry" {
					continue // the in-process retry is the binder's business on none
				}
				t.Run(kind+"/"+store+"/"+v.name, func(t *testing.T) {
					t.Parallel()
					br := newBroker(t, kind)
					st := newStores(t, store)
					calls := make(chan call, 100)
					var attempts atomic.Int64
					ta := startApp(t, br, st, appSpec{store: store, handler: func(ctx context.Context, m stream.Message[order]) error {
						if err := effect(withSchema(ctx, st.schema), store, m.Payload.N); err != nil {
							return err
						}
						calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
						if attempts.Add(1) == 1 {
							return v.fail
						}
						return nil
					}})
					a, b := uniqueID(t, "a"), uniqueID(t, "b")
					ta.send(t, a, 1)
					receive(t, calls, 30*time.Second) // failed
					if c := receive(t, calls, 30*time.Second); c != (call{a, 1}) {
						t.Fatalf("second call %+v, want %s again", c, a)
					}
					ta.send(t, a, 1) // a duplicate of a processed message
					ta.send(t, b, 2)
					if c := receive(t, calls, 30*time.Second); c != (call{b, 2}) {
						t.Fatalf("call %+v, want %s", c, b)
					}
					waitStats(t, ta, 1, 2)
					ta.stop()
					if store == "postgres" {
						if n := st.count(t, "effects"); n != 2 {
							t.Fatalf("%d effects, want 2 (one per message: the failed attempt's is rolled back)", n)
						}
						if n := st.count(t, "marks"); n != 2 {
							t.Fatalf("%d marks, want 2", n)
						}
					}
				})
			}
		}
	}
}

// TestConcurrentDuplicatesOnTwoInstances: two instances receive the same
// message at once (two anonymous consumers of one destination share a
// binding name, thus marks). The first holds it in its handler; the
// second must not run its handler: on PostgreSQL it blocks on the mark's
// row lock (seen in pg_stat_activity) and skips once the first commits;
// on Redis and in memory it waits on the lease.
func TestConcurrentDuplicatesOnTwoInstances(t *testing.T) {
	t.Parallel()
	for _, store := range storeKinds {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			br := newBroker(t, "memory")
			st := newStores(t, store)
			h, entered, release := holdingHandler(st, store)
			a1 := startApp(t, br, st, appSpec{store: store, group: "-", handler: h})
			a2 := startApp(t, br, st, appSpec{store: store, group: "-", handler: h})
			id := uniqueID(t, "a")
			a1.send(t, id, 1)
			receive(t, entered, 30*time.Second)
			if store == "postgres" {
				waitMarkLockWaiter(t, st, "the second delivery waiting on the mark's lock")
			} else {
				// No sign to wait for: give the second delivery the time
				// to run the handler if the lease did not stop it.
				select {
				case c := <-entered:
					t.Fatalf("the duplicate ran the handler while the first ran: %+v", c)
				case <-time.After(500 * time.Millisecond):
				}
			}
			close(release)
			waitSkippedAndStop(t, a1, a2)
			noDuplicateRan(t, entered)
			if p := a1.idem.Stats("handle-in-0").Processed + a2.idem.Stats("handle-in-0").Processed; p != 1 {
				t.Fatalf("%d processed, want 1", p)
			}
			if store == "postgres" {
				if n := st.count(t, "effects"); n != 1 {
					t.Fatalf("%d effects, want 1", n)
				}
			}
		})
	}
}

// TestPurgeDeletesExpiredMarks: the purge deletes expired marks (and only
// those) as the app starts and every purge interval.
func TestPurgeDeletesExpiredMarks(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	ctx := context.Background()
	if _, err := st.pool.Exec(ctx, "INSERT INTO "+st.schema+".marks (binding, key, expires_at) VALUES ('handle-in-0', 'old', now() - interval '1 second'), ('handle-in-0', 'new', now() + interval '1 hour')"); err != nil {
		t.Fatal(err)
	}
	startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", handler: func(context.Context, stream.Message[order]) error { return nil }})
	waitFor(t, 30*time.Second, "the expired mark purged", func() bool { return st.count(t, "marks") == 1 })
	var key string
	if err := st.pool.QueryRow(ctx, "SELECT key FROM "+st.schema+".marks").Scan(&key); err != nil || key != "new" {
		t.Fatalf("kept %q (%v), want new", key, err)
	}
}

// TestKeyExpression: a configured key expression keys the marks (two
// message ids, one order number: one run); a message whose key is null
// fails for good without running the handler.
func TestKeyExpression(t *testing.T) {
	br := newBroker(t, "memory")
	st := newStores(t, "memory")
	calls := make(chan call, 10)
	ta := startApp(t, br, st, appSpec{store: "memory", keyExpr: `, key-expression: "payload.n == 0 ? null : 'order-' + payload.n"`,
		handler: func(_ context.Context, m stream.Message[order]) error {
			calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
			return nil
		}})
	a, b, c, d := uniqueID(t, "a"), uniqueID(t, "b"), uniqueID(t, "c"), uniqueID(t, "d")
	ta.send(t, a, 1)
	ta.send(t, b, 1) // another id, the same order: a duplicate
	ta.send(t, c, 0) // no key
	ta.send(t, d, 2)
	if got := receive(t, calls, 10*time.Second); got != (call{a, 1}) {
		t.Fatalf("call %+v, want %s", got, a)
	}
	if got := receive(t, calls, 10*time.Second); got != (call{d, 2}) {
		t.Fatalf("call %+v, want %s (b is a duplicate, c has no key)", got, d)
	}
	waitStats(t, ta, 1, 2)
	bs := ta.app.Binding("handle-in-0").Stats()
	if bs.Failed != 1 || bs.Retried != 0 {
		t.Fatalf("binding stats %+v, want the keyless message failed once without retries", bs)
	}
	if got := st.memory.Len(); got != 2 {
		t.Fatalf("%d keys in the memory store, want 2", got)
	}
}

// TestConfigErrors: a bad store is a configuration error naming the key;
// a binding with idempotency set and nothing installed does not start; a
// store without its connection is an error of New naming the key.
func TestConfigErrors(t *testing.T) {
	load := func(t *testing.T, idem string) (*config.Loaded, error) {
		y := "stream:\n  function: { definition: handle }\n  bindings:\n    handle-in-0: { group: g, consumer: { idempotency: { " + idem + " } } }\n"
		return config.Load(config.Options{Data: []byte(y), Env: []string{}})
	}
	newApp := func(t *testing.T, l *config.Loaded) (*stream.App, error) {
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "handle", func(context.Context, order) error { return nil })
		return stream.NewApp(l.Stream, fns, newBroker(t, "memory").options...)
	}
	t.Run("bad store", func(t *testing.T) {
		l, err := load(t, "store: mongo, retention: 10ms")
		if err == nil {
			_, err = newApp(t, l)
		}
		for _, want := range []string{"stream.bindings.handle-in-0.consumer.idempotency.store", "mongo", "consumer.idempotency.retention", "at least 1s"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want it to mention %q", err, want)
			}
		}
	})
	t.Run("explicit 0", func(t *testing.T) {
		y := "idempotency:\n  postgres: { purge-interval: 0 }\n  redis: { lease: 0 }\n"
		l, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
		if err == nil {
			_, err = idempotency.FromConfig(l)
		}
		for _, want := range []string{"idempotency.postgres.purge-interval (application.yaml:2): is 0", "idempotency.redis.lease (application.yaml:3): is 0", "default (30s)"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want it to mention %q", err, want)
			}
		}
	})
	// Values out of range named the key alone, where the stream section
	// (and Decode's type errors) name file:line; and a value a secret's
	// placeholder gave was quoted.
	t.Run("out of range", func(t *testing.T) {
		y := "idempotency:\n  postgres:\n    purgeInterval: 10ms\n    table: ${DB_PASSWORD}\n  redis: { lease: 5ms }\n"
		l, err := config.Load(config.Options{Data: []byte(y), Env: []string{"DB_PASSWORD=hunter2.x.y", "IDEMPOTENCY_REDIS_LEASE=1ms"}})
		if err == nil {
			_, err = idempotency.FromConfig(l)
		}
		for _, want := range []string{
			"idempotency.postgres.purgeInterval (application.yaml:3): is 10ms; want at least 1s", // as written
			"idempotency.postgres.table (application.yaml:4): ",
			"idempotency.redis.lease (env IDEMPOTENCY_REDIS_LEASE): is 1ms; want at least 100ms",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want it to mention %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the secret: %v", err)
		}
	})
	t.Run("not installed", func(t *testing.T) {
		l, err := load(t, "store: memory")
		if err != nil {
			t.Fatal(err)
		}
		app, err := newApp(t, l)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = app.Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "idempotency.New") {
			t.Fatalf("Run: %v, want the missing idempotency.New named", err)
		}
	})
	for _, store := range []string{"postgres", "redis"} {
		t.Run("no "+store+" connection", func(t *testing.T) {
			l, err := load(t, "store: "+store)
			if err != nil {
				t.Fatal(err)
			}
			app, err := newApp(t, l)
			if err != nil {
				t.Fatal(err)
			}
			_, err = idempotency.New(app, idempotency.Config{}, idempotency.Options{})
			want := map[string]string{"postgres": "idempotency.postgres.dsn", "redis": "idempotency.redis.url"}[store]
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("New: %v, want %s named", err, want)
			}
		})
	}
}

// waitStats waits until the handler's last success is counted (it is
// counted once the handler returned, after the test saw its call) and
// checks the counts.
func waitStats(t testing.TB, ta *testApp, skipped, processed int64) {
	t.Helper()
	waitFor(t, 10*time.Second, "the last success counted", func() bool { return ta.idem.Stats("handle-in-0").Processed >= processed })
	if s := ta.idem.Stats("handle-in-0"); s.Skipped != skipped || s.Processed != processed {
		t.Fatalf("stats %+v, want %d skipped and %d processed", s, skipped, processed)
	}
}

func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// withSchema is ctx: the effects table is qualified by the handler's
// statement through search_path set on the transaction.
func withSchema(ctx context.Context, schema string) context.Context {
	if schema == "" {
		return ctx
	}
	if tx := idempotency.Tx(ctx); tx != nil {
		_, _ = tx.Exec(ctx, "SET LOCAL search_path TO "+schema)
	}
	return ctx
}

// TestRefusals: UseIdempotency refuses an unknown binding, a second
// installation and a running app; batch-mode with idempotency is a
// configuration error; the idempotency section is decoded strictly.
func TestRefusals(t *testing.T) {
	y := "stream:\n  function: { definition: handle }\n  bindings:\n    handle-in-0: { group: g }\n"
	l, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "handle", func(context.Context, order) error { return nil })
	app, err := stream.NewApp(l.Stream, fns, newBroker(t, "memory").options...)
	if err != nil {
		t.Fatal(err)
	}
	mw := func(next stream.Handler) stream.Handler { return next }
	if err := app.UseIdempotency("nope-in-0", mw); err == nil || !strings.Contains(err.Error(), "no input binding") {
		t.Fatalf("unknown binding: %v", err)
	}
	if err := app.UseIdempotency("handle-in-0", mw); err != nil {
		t.Fatal(err)
	}
	if err := app.UseIdempotency("handle-in-0", mw); err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Fatalf("second installation: %v", err)
	}

	y = "stream:\n  function: { definition: handle }\n  bindings:\n    handle-in-0: { group: g, consumer: { batch-mode: true, idempotency: { store: memory } } }\n"
	if l, err = config.Load(config.Options{Data: []byte(y), Env: []string{}}); err == nil {
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "handle", func(context.Context, []order) error { return nil })
		_, err = stream.NewApp(l.Stream, fns, newBroker(t, "memory").options...)
	}
	if err == nil || !strings.Contains(err.Error(), "batch-mode") || !strings.Contains(err.Error(), "consumer.idempotency.store") {
		t.Fatalf("batch-mode: %v", err)
	}

	y = "stream:\n  function: { definition: handle }\n  bindings:\n    handle-in-0: { group: g, consumer: { header-mode: none, idempotency: { store: memory } } }\n"
	if l, err = config.Load(config.Options{Data: []byte(y), Env: []string{}}); err != nil {
		t.Fatal(err)
	}
	if app, err = stream.NewApp(l.Stream, fns, newBroker(t, "memory").options...); err != nil {
		t.Fatal(err)
	}
	// The in-process binder gives a delivery no identity that the default
	// key could fall back to (Kafka, NATS and Redis do: their test is
	// binder/kafka's TestIdempotentHeaderModeNoneKeysByPosition).
	if _, err = idempotency.New(app, idempotency.Config{}, idempotency.Options{}); err == nil || !strings.Contains(err.Error(), "header-mode is none") ||
		!strings.Contains(err.Error(), "the memory binder gives a delivery no identity") {
		t.Fatalf("header-mode none with the default key on the in-process binder: %v", err)
	}
	// A payload key whose name merely contains "headers" reads no header
	// (before, a text search for "headers" refused it).
	y = "stream:\n  function: { definition: handle }\n  bindings:\n    handle-in-0: { group: g, consumer: { header-mode: none, idempotency: { store: memory, key-expression: payload.headersCount } } }\n"
	if l, err = config.Load(config.Options{Data: []byte(y), Env: []string{}}); err != nil {
		t.Fatal(err)
	}
	if app, err = stream.NewApp(l.Stream, fns, newBroker(t, "memory").options...); err != nil {
		t.Fatal(err)
	}
	if _, err = idempotency.New(app, idempotency.Config{}, idempotency.Options{}); err != nil {
		t.Fatalf("header-mode none with the payload key payload.headersCount: %v", err)
	}

	y = "idempotency:\n  postgres:\n    purge-intervall: 1m\n  redis:\n    lease: 10ms\n"
	if l, err = config.Load(config.Options{Data: []byte(y), Env: []string{}}); err == nil {
		_, err = idempotency.FromConfig(l)
	}
	if err == nil || !strings.Contains(err.Error(), "purge-intervall") {
		t.Fatalf("unknown key: %v", err)
	}
	y = "idempotency:\n  redis:\n    lease: 10ms\n"
	if l, err = config.Load(config.Options{Data: []byte(y), Env: []string{}}); err == nil {
		_, err = idempotency.FromConfig(l)
	}
	if err == nil || !strings.Contains(err.Error(), "idempotency.redis.lease") {
		t.Fatalf("short lease: %v", err)
	}
}
