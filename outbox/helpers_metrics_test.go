package outbox_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// relayCounter returns a reader of the value of counter name of the
// relay's metrics (its one series: the relay's table).
func relayCounter(t *testing.T, relay prometheus.Collector, name string) func() float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(relay)
	return func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
}

// slowDeletes makes each DELETE statement on table take d (a statement
// trigger): time for a test to hold the server's answers while the server
// deletes and commits.
func slowDeletes(t *testing.T, pool *pgxpool.Pool, table string, d time.Duration) {
	t.Helper()
	schema, _, _ := strings.Cut(table, ".")
	secs := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	if _, err := pool.Exec(context.Background(), "CREATE FUNCTION "+schema+".slowdel() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep("+secs+"); RETURN NULL; END $$; "+
		"CREATE TRIGGER slowdel BEFORE DELETE ON "+table+" FOR EACH STATEMENT EXECUTE FUNCTION "+schema+".slowdel()"); err != nil {
		t.Fatal(err)
	}
}

// waitSlowDeleteRunning waits until the relay connected as appName runs
// its DELETE, in slowDeletes' pg_sleep: the statement (and the COMMIT the
// relay sent behind it) reached the server. A DELETE merely 'active' may
// still be in its Parse, the prepare round trip pgx makes before it sends
// the batch: replies frozen then, the DELETE is never sent.
func waitSlowDeleteRunning(t *testing.T, pool *pgxpool.Pool, appName string) {
	t.Helper()
	waitForCond(t, 15*time.Second, "the relay's deletion to run", func() bool {
		var n int
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE 'DELETE %' AND wait_event = 'PgSleep'", appName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}
