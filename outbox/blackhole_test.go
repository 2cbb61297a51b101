package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// TestBlackHoledDatabaseFailsWithinSendTimeout: a database that stops
// answering without closing the connection (a hung server, a network that
// drops packets: here a proxy that forwards nothing and keeps its sockets)
// fails the relay's batch within send-timeout, and readiness says so; the
// relay recovers by itself once the database answers again. (The relay
// used to wait for the claim's answer for as long as the socket lived:
// readiness up, the rows unsent, for ever.)
func TestBlackHoledDatabaseFailsWithinSendTimeout(t *testing.T) {
	pool, table := migrate(t)
	px := outboxtest.BlackHole(t)
	cfg := outbox.Config{Table: table, DSN: px.DSN(t, "obx_blackhole"), PollInterval: 50 * time.Millisecond, SendTimeout: time.Second}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	store := func(seq int) {
		inTx(t, pool, true, func(tx pgx.Tx) {
			if err := ob.Send(context.Background(), tx, "events", event{Key: "k", Seq: seq}, outbox.Key("k")); err != nil {
				t.Fatal(err)
			}
		})
	}
	store(0)
	receive(t, got, 15*time.Second)           // the relay's connections are established
	waitEmpty(t, pool, table, 15*time.Second) // and its batch committed

	px.Freeze()
	frozen := time.Now()
	store(1)
	var herr error
	waitForCond(t, 15*time.Second, "the relay to report the database down", func() bool {
		herr = ob.Relay().Health(context.Background())
		return herr != nil
	})
	took := time.Since(frozen)
	t.Logf("down after %s: %v", took.Round(time.Millisecond), herr)
	if !strings.Contains(herr.Error(), "did not answer within send-timeout") {
		t.Errorf("health: %v; want it to say the database did not answer within send-timeout", herr)
	}
	// A batch that started just before the freeze may take up to two
	// rounds (the claim, the commit) of send-timeout, plus a poll.
	if took > 5*time.Second {
		t.Errorf("down only after %s; want within about 2 x send-timeout (1s)", took)
	}

	px.Thaw()
	if m := receive(t, got, 30*time.Second); m.Payload.Seq != 1 {
		t.Errorf("after the thaw got seq %d, want 1", m.Payload.Seq)
	}
	waitEmpty(t, pool, table, 30*time.Second)
	waitForCond(t, 15*time.Second, "the relay to report up again", func() bool {
		return ob.Relay().Health(context.Background()) == nil
	})
}

// TestHealthSaysLockTimeout: a claim refused because a lock on the table
// was not granted within the session's lock_timeout (a migration holding
// the table) is reported as that, not as a generic refusal.
func TestHealthSaysLockTimeout(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	dsn := outboxtest.DSNWithOptions("-c lock_timeout=50ms")
	ctx := context.Background()
	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx) //nolint:errcheck // ends the lock
	if _, err := lock.Exec(ctx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	_, ob, _, _ := breakApp(t, newBroker(t, "memory"), false, outbox.Config{Table: table, DSN: dsn, PollInterval: 50 * time.Millisecond})
	var herr error
	waitForCond(t, 15*time.Second, "the relay to report down", func() bool {
		herr = ob.Relay().Health(ctx)
		return herr != nil
	})
	if !strings.Contains(herr.Error(), "a lock on the table was not granted within the session's lock_timeout") {
		t.Errorf("health: %v; want it to name the lock timeout", herr)
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	waitForCond(t, 15*time.Second, "the relay to report up once the lock is released", func() bool {
		return ob.Relay().Health(ctx) == nil
	})
}

// TestStopWithBlackHoledDatabaseKeepsShutdownTimeout: stopping the app
// while its relay's database does not answer ends within
// stream.shutdown-timeout: closing the relay's own pool (pgx sends each
// interrupted connection a cancel request, and waits up to 15s for it) is
// not waited for beyond it. (The app's shutdown used to take ~12s with a
// shutdown-timeout of 2s.)
func TestStopWithBlackHoledDatabaseKeepsShutdownTimeout(t *testing.T) {
	pool, table := migrate(t)
	px := outboxtest.BlackHole(t)
	br := newBroker(t, "memory")
	app := eventsApp(t, br, "2s")
	ob, err := outbox.New(app, outbox.Config{Table: table, DSN: px.DSN(t, "obx_blackhole_stop"), PollInterval: 50 * time.Millisecond, SendTimeout: time.Second}, outbox.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("app did not start: %v", err)
	}
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	waitEmpty(t, pool, table, 15*time.Second)
	px.Freeze()
	waitForCond(t, 15*time.Second, "the relay to report the database down", func() bool {
		return ob.Relay().Health(context.Background()) != nil
	})
	stopped := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("app did not stop within 60s")
	}
	took := time.Since(stopped)
	t.Logf("stopped in %s", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("the app stopped %s after it was asked to; want within about the shutdown-timeout (2s)", took)
	}
	px.Thaw() // the pool's connections end
}

// eventsApp is an app on br (memory) with the output binding events (to
// evt) and the given shutdown-timeout.
func eventsApp(t *testing.T, br broker, shutdownTimeout string) *stream.App {
	t.Helper()
	y := "stream:\n  default-binder: memory\n  shutdown-timeout: " + shutdownTimeout + "\n  output-bindings: events\n  binders:\n" + br.yaml +
		"  bindings:\n    events: { destination: evt }\n"
	loaded, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := stream.NewApp(loaded.Stream, stream.NewCatalog(), append([]stream.Option{stream.WithLogger(testLogger()), stream.WithoutSignals()}, br.options...)...)
	if err != nil {
		t.Fatal(err)
	}
	return app
}
