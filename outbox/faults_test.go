package outbox_test

// Faults of the database and the broker while the relay works, and misuse
// of the API: the outbox keeps its promises (written by an adversarial
// review; these are the attacks it survived).

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// breakApp starts an app with the output binding events (destination
// evt), a consumer of evt when consume is set (its messages on the
// returned channel), and an outbox configured by cfg.
func breakApp(t *testing.T, br broker, consume bool, cfg outbox.Config) (*stream.App, *outbox.Outbox, chan stream.Message[event], func()) {
	t.Helper()
	y := "stream:\n  default-binder: " + br.kind + "\n  shutdown-timeout: 20s\n  output-bindings: events\n  binders:\n" + br.yaml +
		"  bindings:\n    events: { destination: evt }\n"
	if consume {
		y = strings.Replace(y, "stream:\n", "stream:\n  function: { definition: collect }\n", 1) +
			"    collect-in-0: { destination: evt, group: g }\n"
	}
	loaded, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y)
	}
	got := make(chan stream.Message[event], 100000)
	fns := stream.NewCatalog()
	if consume {
		stream.AddConsumer(fns, "collect", func(_ context.Context, m stream.Message[event]) error {
			got <- m
			return nil
		})
	}
	app, err := stream.NewApp(loaded.Stream, fns, append([]stream.Option{stream.WithLogger(testLogger()), stream.WithoutSignals()}, br.options...)...)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(app, cfg, outbox.Options{Logger: testLogger()})
	if err != nil {
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
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("app stopped with: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("app did not stop within 60s")
		}
	}
	t.Cleanup(stop)
	return app, ob, got, stop
}

// TestRelaySessionTerminatedMidBatch: the relay's database session is
// terminated (pg_terminate_backend on the relay's own application_name,
// as a failover or an admin would) several times while it is in the
// middle of batches, sending to RabbitMQ. The relay process lives on:
// nothing may be lost, no key reordered, at most one batch sent twice per
// termination, and the relay must report healthy again afterwards.
func TestRelaySessionTerminatedMidBatch(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	br := newBroker(t, "rabbit")
	appName := "breakob_drop_" + strconv.Itoa(os.Getpid())
	const keys, n, batch, kills = 8, 400, 40, 5
	writer := startApp(t, br, appSpec{table: table})
	produceBulk(t, writer.ob, pool, keys, n)
	_, ob, got, stop := breakApp(t, br, true, outbox.Config{Table: table, DSN: withAppName(outboxtest.DSN(), appName), BatchSize: batch, PollInterval: 100 * time.Millisecond, SendTimeout: 5 * time.Second})
	killed := 0
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for killed < kills && time.Now().Before(deadline) {
		// The relay's batch transaction, idle while its sends are confirmed.
		var pid int
		err := pool.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction' LIMIT 1", appName).Scan(&pid)
		if err == pgx.ErrNoRows {
			if rowCount(t, pool, table) == 0 {
				break
			}
			time.Sleep(time.Millisecond) // polling pg_stat_activity for the next batch
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		if err := pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			killed++
		}
		time.Sleep(150 * time.Millisecond) // let the relay reconnect and claim again
	}
	t.Logf("terminated the relay's session %d times", killed)
	if killed == 0 {
		t.Fatal("never caught the relay in a batch: the test did not exercise the fault")
	}
	dups := checkOrder(t, got, keys, n, 120*time.Second)
	t.Logf("%d duplicates after %d terminations (batch-size %d)", dups, killed, batch)
	if dups > killed*batch {
		t.Errorf("%d duplicates after %d terminated batches of at most %d: more than one batch per fault", dups, killed, batch)
	}
	waitEmpty(t, pool, table, 30*time.Second)
	waitHealthy(t, ob.Relay())
	stop()
}

func waitHealthy(t *testing.T, r *outbox.Relay) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := r.Health(context.Background())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay still unhealthy 30s after the faults: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling the relay's reported state
	}
}

// TestKafkaDownForAWhile: the Kafka cluster goes away while rows
// keep being committed, and comes back on the same port with its data
// (kfake restarted). Sends fail meanwhile (send-timeout 1s): the rows stay,
// their attempts are counted; once Kafka is back every message arrives,
// in order per key, nothing lost.
func TestKafkaDownForAWhile(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	kc := kafkatest.StartRestartable(t)
	br := broker{kind: "kafka", yaml: fmt.Sprintf("    kafka: { type: kafka, environment: { brokers: %q } }\n", kc.Brokers()),
		options: []stream.Option{stream.WithBinderType(kafka.Type, kafka.New)}}
	const keys, n = 4, 60
	_, ob, got, stop := breakApp(t, br, true, outbox.Config{Table: table, DSN: outboxtest.DSN(), BatchSize: 20, PollInterval: 100 * time.Millisecond, SendTimeout: time.Second})
	ctx := context.Background()
	send := func(from, to int) {
		for i := from; i < to; i++ {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				for k := range keys {
					key := fmt.Sprintf("k%d", k)
					if err := ob.Send(ctx, tx, "events", event{Key: key, Seq: i}, outbox.Key(key)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	send(0, n/3)
	// Wait until the first third arrived, then take Kafka away.
	next := map[string]int{}
	for seen := 0; seen < keys*n/3; {
		m := receive(t, got, 60*time.Second)
		if m.Payload.Seq == next[m.Payload.Key] {
			next[m.Payload.Key]++
			seen++
		}
	}
	kc.Close()
	send(n/3, n)
	// Until a send failed and was counted.
	waitForCond(t, 60*time.Second, "a failed send counted on a row", func() bool {
		var a int
		_ = pool.QueryRow(ctx, "SELECT coalesce(max(attempts), 0) FROM "+table).Scan(&a)
		return a > 0
	})
	if err := kc.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(120 * time.Second)
	for seen := keys * n / 3; seen < keys*n; {
		select {
		case m := <-got:
			e := m.Payload
			switch {
			case e.Seq == next[e.Key]:
				next[e.Key]++
				seen++
			case e.Seq < next[e.Key]:
			default:
				t.Fatalf("key %s: got seq %d, want %d: reordered or lost", e.Key, e.Seq, next[e.Key])
			}
		case <-deadline:
			t.Fatalf("only %d of %d messages within 120s of Kafka's return (next per key %v, %d rows left)", seen, keys*n, next, rowCount(t, pool, table))
		}
	}
	waitEmpty(t, pool, table, 30*time.Second)
	stop()
}

func waitForCond(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; the relays' goroutines:\n%s", within, what, relayStacks())
		}
		time.Sleep(20 * time.Millisecond) // polling observable state
	}
}

// relayStacks is the stacks of the goroutines in the outbox package and
// the binders, for a test that timed out waiting on a relay: where it is
// stuck.
func relayStacks() string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "streambind/outbox.") || strings.Contains(g, "streambind/binder/") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestLifecycleMisuse: the relay's Start and Stop called out of
// order or twice, Send with an ended context, Send after the app stopped,
// and configurations whose errors must name the key.
func TestLifecycleMisuse(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	ctx := context.Background()

	// Validate names the key of every bad field.
	bad := outbox.Config{Table: "Bad.Table", PollInterval: time.Millisecond, BatchSize: -1, Concurrency: 5000, SendTimeout: -time.Second}
	err := bad.Validate()
	for _, key := range []string{"outbox.table", "outbox.poll-interval", "outbox.batch-size", "outbox.concurrency", "outbox.send-timeout"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate: %v; want an error naming %s", err, key)
		}
	}
	app, err := stream.NewApp(&stream.Config{OutputBindings: "events"}, nil, append(br.options, stream.WithoutSignals(), stream.WithLogger(testLogger()))...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.New(app, outbox.Config{}, outbox.Options{}); err == nil || !strings.Contains(err.Error(), "outbox.dsn") {
		t.Errorf("New without a DSN or pool: %v; want an error naming outbox.dsn", err)
	}
	if _, err := outbox.New(nil, outbox.Config{}, outbox.Options{}); err == nil {
		t.Error("New(nil app) accepted")
	}
	rpool, err := pgxpool.New(ctx, outboxtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer rpool.Close()
	ob, err := outbox.New(app, outbox.Config{Table: table}, outbox.Options{Pool: rpool, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.New(app, outbox.Config{Table: table}, outbox.Options{Pool: rpool}); err == nil {
		t.Error("a second outbox on the same app and table was accepted: two relays of one table in one app")
	}
	r := ob.Relay()
	if err := r.Stop(ctx); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}

	// Send with an ended context stores nothing and says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Send(cctx, tx, "events", event{Key: "k"}); err == nil {
		t.Error("Send with a cancelled context succeeded")
	}
	_ = tx.Rollback(ctx)

	// Send before the app runs works (documented), and after it stopped.
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Errorf("Send before the app runs: %v", err)
		}
	})
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(rctx) }()
	<-app.Ready()
	waitEmpty(t, pool, table, 30*time.Second)
	if err := r.Start(ctx); err == nil {
		t.Error("a second Start of a running relay succeeded")
	}
	rcancel()
	if err := <-done; err != nil {
		t.Errorf("app stopped with: %v", err)
	}
	if err := r.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: 1}, outbox.Key("k")); err != nil {
			t.Errorf("Send after the app stopped: %v (a writer whose app is shutting down still commits its transactions)", err)
		}
	})
	if n := rowCount(t, pool, table); n != 1 {
		t.Errorf("%d rows after a Send on a stopped app; want 1, left for the next relay", n)
	}
	if err := r.Start(ctx); err == nil {
		t.Error("Start after Stop succeeded: a stopped relay cannot be restarted with its closed loops")
	}
}
