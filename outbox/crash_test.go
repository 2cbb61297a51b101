package outbox_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/testparallel"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// The relay child: the test binary re-executed with these variables runs
// one app with a relay and nothing else, until it is killed.
const (
	childKind  = "OUTBOX_TEST_CHILD_KIND"
	childYAML  = "OUTBOX_TEST_CHILD_YAML"
	childTable = "OUTBOX_TEST_CHILD_TABLE"
	childBatch = "OUTBOX_TEST_CHILD_BATCH"
	// childSlow: the child's binder is the in-process one, each message
	// taking this long to consume (one buffered): its batches last.
	childSlow = "OUTBOX_TEST_CHILD_SLOW"
	// childSendTimeout, childAppName: the relay's send-timeout and the
	// application_name of its sessions.
	childSendTimeout = "OUTBOX_TEST_CHILD_SEND_TIMEOUT"
	childAppName     = "OUTBOX_TEST_CHILD_APP_NAME"
)

// parallelTests is how many parallel tests run at least at once when
// -parallel is not given: the relays wait on poll intervals, send
// timeouts, PostgreSQL and the brokers (go test -race -count=1 ./outbox
// alone, on a 2-core machine loaded by other work: 127 s with every test
// in turn; 71 s with 4 at a time, 56-78 s with 6, 68 s with 8; at most 40
// PostgreSQL connections at 6, of the server's 100). The tests left serial
// bound a shutdown, a scrape or a failure's detection to a few seconds.
const parallelTests = 6

func TestMain(m *testing.M) {
	if os.Getenv(childKind) != "" {
		os.Exit(runChild())
	}
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	goleak.VerifyTestMain(rabbittest.Wrap(m))
}

func runChild() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 2 }
	loaded, err := config.Load(config.Options{Data: []byte(os.Getenv(childYAML)), Env: []string{}})
	if err != nil {
		return fail(err)
	}
	var opt stream.Option
	fns := stream.NewCatalog()
	switch os.Getenv(childKind) {
	case "memory":
		b, err := memory.NewBroker(memory.Config{BufferSize: 1})
		if err != nil {
			return fail(err)
		}
		opt = stream.WithBinderType(memory.Type, memory.Factory(b))
		slow, _ := time.ParseDuration(os.Getenv(childSlow))
		stream.AddConsumer(fns, "slow", func(context.Context, stream.Message[[]byte]) error {
			time.Sleep(slow) // a slow consumer: the relay's sends wait for the buffer
			return nil
		})
	case "kafka":
		opt = stream.WithBinderType(kafka.Type, kafka.New)
	case "rabbit":
		opt = stream.WithBinderType(rabbit.Type, rabbit.New)
	default:
		return fail(fmt.Errorf("kind %q", os.Getenv(childKind)))
	}
	app, err := stream.NewApp(loaded.Stream, fns, opt, stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		return fail(err)
	}
	batch, _ := strconv.Atoi(os.Getenv(childBatch))
	sendTimeout, _ := time.ParseDuration(os.Getenv(childSendTimeout))
	dsn := outboxtest.DSN()
	if n := os.Getenv(childAppName); n != "" {
		dsn = withAppName(dsn, n)
	}
	if _, err := outbox.New(app, outbox.Config{Table: os.Getenv(childTable), DSN: dsn, BatchSize: batch, PollInterval: 100 * time.Millisecond, SendTimeout: sendTimeout}, outbox.Options{Logger: log}); err != nil {
		return fail(err)
	}
	go func() {
		<-app.Ready()
		fmt.Println("ready")
	}()
	if err := app.Run(context.Background()); err != nil {
		return fail(err)
	}
	return 0
}

// produceBulk stores n messages for each of keys, in transactions of up to
// 100 messages, each key's in order.
func produceBulk(t *testing.T, ob *outbox.Outbox, pool *pgxpool.Pool, keys, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			for end := min(i+100/keys+1, n); i < end; i++ {
				for k := range keys {
					key := fmt.Sprintf("k%d", k)
					if err := ob.Send(ctx, tx, "events", event{Key: key, Seq: i}, outbox.Key(key)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRelayKilledMidBatch: a relay process killed with SIGKILL while it
// sends loses nothing; the next relay sends again at most the batch that
// was in flight, and no key's messages are reordered.
func TestRelayKilledMidBatch(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"kafka", "rabbit"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			pool, table := migrate(t)
			br := newBroker(t, kind)
			const keys, n, batch = 10, 200, 50
			consumer := startApp(t, br, appSpec{consume: true, table: table})
			produceBulk(t, consumer.ob, pool, keys, n)

			y := "stream:\n  default-binder: " + kind + "\n  shutdown-timeout: 20s\n  output-bindings: events\n  binders:\n" + br.yaml +
				"  bindings:\n    events: { destination: evt }\n"
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childKind+"="+kind, childYAML+"="+y, childTable+"="+table, childBatch+"="+strconv.Itoa(batch))
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			})
			ready := make(chan bool, 1)
			go func() {
				s := bufio.NewScanner(out)
				for s.Scan() {
					if strings.TrimSpace(s.Text()) == "ready" {
						ready <- true
					}
				}
				close(ready)
			}()
			select {
			case ok := <-ready:
				if !ok {
					t.Fatal("relay child ended before it was ready")
				}
			case <-time.After(60 * time.Second):
				t.Fatal("relay child not ready within 60s")
			}

			// Let the child send part of the table, then kill it.
			var before []stream.Message[event]
			for len(before) < keys*n/4 {
				before = append(before, receive(t, consumer.got, 60*time.Second))
			}
			if err := cmd.Process.Signal(os.Kill); err != nil {
				t.Fatal(err)
			}
			killed = true
			_ = cmd.Wait()
			left := rowCount(t, pool, table)
			t.Logf("killed the relay after %d messages received; %d rows left", len(before), left)
			if left == 0 {
				t.Fatal("the child sent everything before it was killed: the test did not kill it mid-table")
			}

			// A new relay sends the rest.
			ch := make(chan stream.Message[event], keys*n*2)
			for _, m := range before {
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
			startApp(t, br, appSpec{relay: true, table: table, batchSize: batch})
			dups := checkOrder(t, ch, keys, n, 120*time.Second)
			waitEmpty(t, pool, table, 30*time.Second)
			// Anything still arriving is a duplicate too. Every row was
			// deleted, so every send was confirmed: a last message, sent now,
			// queues behind all of them (one queue, one partition, one
			// consumer handling one message at a time).
			inTx(t, pool, true, func(tx pgx.Tx) {
				if err := consumer.ob.Send(context.Background(), tx, "events", event{Key: "end"}, outbox.Key("k0")); err != nil {
					t.Fatal(err)
				}
			})
			for {
				m := receive(t, ch, 60*time.Second)
				if m.Payload.Key == "end" {
					break
				}
				dups++
			}
			t.Logf("%d duplicates (at most the batch in flight, %d, allowed)", dups, batch)
			if dups > batch {
				t.Errorf("%d duplicates: more than the batch in flight (%d)", dups, batch)
			}
		})
	}
}
