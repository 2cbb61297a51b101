package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox/outboxtest"
)

// logRecords is a slog.Handler that keeps every record (with the
// logger's attributes), for tests that count log lines.
type logRecords struct {
	mu    *sync.Mutex
	recs  *[]slog.Record
	attrs []slog.Attr
}

func newLogRecords() logRecords {
	return logRecords{mu: &sync.Mutex{}, recs: &[]slog.Record{}}
}

func (h logRecords) Enabled(context.Context, slog.Level) bool { return true }

func (h logRecords) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, r)
	return nil
}

func (h logRecords) WithAttrs(as []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return h
}

func (h logRecords) WithGroup(string) slog.Handler { return h }

// count is the number of records of level whose message starts with
// prefix.
func (h logRecords) count(level slog.Level, prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range *h.recs {
		if r.Level == level && strings.HasPrefix(r.Message, prefix) {
			n++
		}
	}
	return n
}

// warns returns the WARN records whose message starts with prefix, as
// "message name=<name>" lines.
func (h logRecords) warns(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range *h.recs {
		if r.Level != slog.LevelWarn || !strings.HasPrefix(r.Message, prefix) {
			continue
		}
		line := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "name" {
				line += " name=" + a.Value.String()
			}
			return true
		})
		out = append(out, line)
	}
	return out
}

// TestFailingRowLogsBoundedWarnings: a row that can never be sent (here
// to an input binding: the bridge refuses it) is retried every
// poll-interval, for ever, each retry counted; its WARN is logged once,
// the repeats at most once a minute, while a different failure (another
// destination refused) is logged at once. Every retry logged a WARN: 30
// retries, 30 WARN lines (a log flood of one line a second per failing
// key at the default poll-interval).
func TestFailingRowLogsBoundedWarnings(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	ctx := context.Background()
	logs := newLogRecords()
	a := startApp(t, newBroker(t, "memory"), appSpec{consume: true, relay: true, table: table, poll: 20 * time.Millisecond,
		topYAML: "  dynamic-destinations: [evt]\n", logger: slog.New(logs)})
	failures := relayCounter(t, a.ob.Relay(), "streambind_outbox_send_failures_total")
	attempts := func(name string) int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT coalesce(max(attempts), 0) FROM "+table+" WHERE name = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(name, key string) {
		inTx(t, pool, true, func(tx pgx.Tx) {
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, key, payload) VALUES ($1, $2, '{}')", name, []byte(key)); err != nil {
				t.Fatal(err)
			}
		})
	}
	const firstPrefix, repeatPrefix = "outbox relay: send failed", "outbox relay: send still failing"
	// The repeats of a failure are logged at most once a minute: none
	// unless the machine is so slow that the test takes minutes.
	start := time.Now()
	summaries := func() int { return len(logs.warns(repeatPrefix)) }
	maxSummaries := func() int { return 2 * int(time.Since(start)/time.Minute) }

	insert("collect-in-0", "a")
	const n = 30
	waitForCond(t, 60*time.Second, "30 retries of the failing row", func() bool {
		return failures() >= n && attempts("collect-in-0") >= n
	})
	if w := logs.warns(firstPrefix); len(w) != 1 || !strings.Contains(w[0], "name=collect-in-0") || summaries() > maxSummaries() {
		t.Fatalf("%.0f failed sends of one row logged %d WARN lines: %q, and %d summaries; want 1 (repeats at most once a minute)", failures(), len(w), w, summaries())
	}

	// A different failure is not hidden by the first one's limit.
	before, a0 := failures(), attempts("collect-in-0")
	insert("nowhere", "b")
	waitForCond(t, 60*time.Second, "retries of the second failing row", func() bool {
		return attempts("nowhere") >= 5 && failures() >= before+5
	})
	w := logs.warns(firstPrefix)
	if len(w) != 2 || !strings.Contains(w[1], "name=nowhere") || summaries() > maxSummaries() {
		t.Fatalf("a second, different failure: WARN lines %q, and %d summaries; want the first one's and one for nowhere", w, summaries())
	}
	// The rows are still retried, and the other keys sent.
	if err := a.ob.Relay().Health(ctx); err != nil {
		t.Errorf("relay unhealthy: %v", err)
	}
	if got := attempts("collect-in-0"); got <= a0 {
		t.Errorf("the first failing row has %d attempts after the second's 5 retries, as before; want it still retried", got)
	}
	t.Logf("%.0f failed sends, WARN lines: %q", failures(), w)
}

// TestBatchFailureOfAnotherKindIsLogged: a batch that fails in another
// way than the last one (here the table missing, then made by hand
// without the columns the relay reads) logs a WARN; only the first
// failure after a working batch did, the others went to DEBUG, so the log
// kept saying what had been wrong first.
func TestBatchFailureOfAnotherKindIsLogged(t *testing.T) {
	t.Parallel()
	pool, schema := outboxtest.Schema(t)
	table := schema + ".outbox"
	logs := newLogRecords()
	a := startApp(t, newBroker(t, "memory"), appSpec{relay: true, table: table, poll: 20 * time.Millisecond, logger: slog.New(logs)})
	const batchPrefix = "outbox relay: batch failed"
	waitForCond(t, 15*time.Second, "the missing table's WARN", func() bool { return len(logs.warns(batchPrefix)) > 0 })
	if _, err := pool.Exec(context.Background(), "CREATE TABLE "+table+" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, payload bytea NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	waitForCond(t, 15*time.Second, "the relay to report the table's shape", func() bool {
		err := a.ob.Relay().Health(context.Background())
		return err != nil && strings.Contains(err.Error(), "the table does not have the columns")
	})
	// Ten more failed batches of that kind (at DEBUG): logged once.
	again := logs.count(slog.LevelDebug, "outbox relay: batch failed again")
	waitForCond(t, 15*time.Second, "ten more failed batches", func() bool {
		return logs.count(slog.LevelDebug, "outbox relay: batch failed again") >= again+10
	})
	if w := logs.warns(batchPrefix); len(w) != 2 {
		t.Errorf("WARN lines %d (%q); want 2: the missing table, then the table's shape", len(w), w)
	}
}

// TestRowsTooLargeLogOneWarning: rows that fail alike, but each with its
// own numbers in the error text (Kafka's "record of 1234 bytes over
// batch-bytes 300", RabbitMQ's size or routing key, Redis's size), are one
// failure: a backlog of such rows logs one WARN, not one per row. Each
// size was a failure of its own, and 12 rows logged 12 WARN lines at
// once: the flood the limit is for, one line a row.
func TestRowsTooLargeLogOneWarning(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	ctx := context.Background()
	logs := newLogRecords()
	a := startApp(t, newBroker(t, "kafka"), appSpec{relay: true, table: table, poll: 20 * time.Millisecond,
		topYAML: "  kafka: { bindings: { events: { producer: { batch-bytes: 300 } } } }\n", logger: slog.New(logs)})
	failures := relayCounter(t, a.ob.Relay(), "streambind_outbox_send_failures_total")
	const rows = 12
	inTx(t, pool, true, func(tx pgx.Tx) {
		for i := range rows {
			payload := []byte(`{"pad":"` + strings.Repeat("x", 400+37*i) + `"}`)
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, key, payload) VALUES ('events', $1, $2)", []byte(fmt.Sprint("k", i)), payload); err != nil {
				t.Fatal(err)
			}
		}
	})
	waitForCond(t, 60*time.Second, "every row to fail twice", func() bool { return failures() >= 2*rows })
	w := logs.warns("outbox relay: send failed")
	if len(w) != 1 {
		t.Fatalf("%.0f failed sends of %d rows too large, each of its own size, logged %d WARN lines; want 1:\n%s", failures(), rows, len(w), strings.Join(w, "\n"))
	}
	var text string
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, r := range *logs.recs {
		if r.Level == slog.LevelWarn && strings.HasPrefix(r.Message, "outbox relay: send failed") {
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "error" {
					text = a.Value.String()
				}
				return true
			})
		}
	}
	if !strings.Contains(text, "over batch-bytes 300") {
		t.Errorf("the WARN's error %q does not say what failed", text)
	}
}
