package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/stream"
)

// gatherRelay returns the relay's gauges and counters of one scrape by
// name (each has one series: the relay's table).
func gatherRelay(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		got[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	return got
}

// TestDatabaseUpWhenTheCountCannotFinish: a scrape whose backlog count
// cannot finish within its 2s bound — a backlog of millions of rows; here
// the table locked ACCESS EXCLUSIVE by another session (a VACUUM FULL, an
// ALTER TABLE), which holds the count just as long — while the database
// answers reports database_up 1, and the backlog as the planner's
// estimate (backlog_estimated 1). database_up used to be 0: an alert or
// readiness keyed on it fired when the outbox was busiest.
func TestDatabaseUpWhenTheCountCannotFinish(t *testing.T) {
	pool, table := migrate(t)
	ctx := context.Background()
	br := newBroker(t, "memory")
	app, err := stream.NewApp(&stream.Config{OutputBindings: "events"}, nil, append(br.options, stream.WithoutSignals())...)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(app, outbox.Config{Table: table}, outbox.Options{Pool: pool, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ob.Relay())
	inTx(t, pool, true, func(tx pgx.Tx) {
		for range 5 {
			if err := ob.Send(ctx, tx, "events", "x"); err != nil {
				t.Fatal(err)
			}
		}
	})
	if _, err := pool.Exec(ctx, "ANALYZE "+table); err != nil { // the planner's estimate: 5 rows
		t.Fatal(err)
	}
	got := gatherRelay(t, reg)
	if got["streambind_outbox_database_up"] != 1 || got["streambind_outbox_backlog_messages"] != 5 || got["streambind_outbox_backlog_estimated"] != 0 {
		t.Fatalf("unlocked table: metrics %v; want database_up 1, a counted backlog of 5 (backlog_estimated 0)", got)
	}

	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx) //nolint:errcheck // released at the end
	if _, err := lock.Exec(ctx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the scrape that finds the count too slow, and one that only estimates
		start := time.Now()
		got = gatherRelay(t, reg)
		took := time.Since(start)
		t.Logf("scrape %d with the table locked: %v in %s", i, got, took)
		if got["streambind_outbox_database_up"] != 1 {
			t.Errorf("scrape %d: database_up %v while the database answers (the count could not finish); want 1", i, got["streambind_outbox_database_up"])
		}
		if got["streambind_outbox_backlog_estimated"] != 1 || got["streambind_outbox_backlog_messages"] != 5 {
			t.Errorf("scrape %d: backlog %v (estimated %v); want the planner's estimate, 5 (estimated 1)", i, got["streambind_outbox_backlog_messages"], got["streambind_outbox_backlog_estimated"])
		}
		if _, ok := got["streambind_outbox_oldest_message_age_seconds"]; ok {
			t.Errorf("scrape %d: an oldest age (%v) was reported though the table is locked", i, got["streambind_outbox_oldest_message_age_seconds"])
		}
		if got["streambind_outbox_set_aside_messages"] != 0 {
			t.Errorf("scrape %d: set aside %v; want the last count's 0", i, got["streambind_outbox_set_aside_messages"])
		}
		if took > 6*time.Second {
			t.Errorf("scrape %d took %s; want at most the count's 2s, the lookup's and the age's 1s", i, took)
		}
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	got = gatherRelay(t, reg)
	if got["streambind_outbox_database_up"] != 1 || got["streambind_outbox_backlog_messages"] != 5 {
		t.Errorf("after the lock: metrics %v; want database_up 1 and a backlog of 5", got)
	}
	if age, ok := got["streambind_outbox_oldest_message_age_seconds"]; !ok || age > 60 {
		t.Errorf("after the lock: oldest age %v (reported: %t); want the next row's age", age, ok)
	}
}

// TestDatabaseUpZeroWhenTheCountIsRefused: a count the server refuses —
// the table missing, a right revoked — is not a count that ran out of
// time: database_up is 0 and no backlog is reported (an estimate would
// hide the outbox being unusable).
func TestDatabaseUpZeroWhenTheCountIsRefused(t *testing.T) {
	pool, table := migrate(t)
	ctx := context.Background()
	_, dsn := limitedRole(t, pool, table, "UPDATE", "DELETE") // no SELECT
	rpool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer rpool.Close()
	for _, c := range []struct {
		name, table string
		pool        *pgxpool.Pool
	}{
		{"missing table", table + "_missing", pool},
		{"no SELECT right", table, rpool},
	} {
		t.Run(c.name, func(t *testing.T) {
			br := newBroker(t, "memory")
			app, err := stream.NewApp(&stream.Config{OutputBindings: "events"}, nil, append(br.options, stream.WithoutSignals())...)
			if err != nil {
				t.Fatal(err)
			}
			ob, err := outbox.New(app, outbox.Config{Table: c.table}, outbox.Options{Pool: c.pool, Logger: testLogger()})
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(ob.Relay())
			got := gatherRelay(t, reg)
			if got["streambind_outbox_database_up"] != 0 {
				t.Errorf("database_up %v; want 0", got["streambind_outbox_database_up"])
			}
			for _, m := range []string{"streambind_outbox_backlog_messages", "streambind_outbox_backlog_estimated", "streambind_outbox_oldest_message_age_seconds", "streambind_outbox_set_aside_messages"} {
				if v, ok := got[m]; ok {
					t.Errorf("%s reported (%v); want none", m, v)
				}
			}
		})
	}
}
