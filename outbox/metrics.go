package outbox

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions; every metric has the label table.
var (
	descBacklog = prometheus.NewDesc("streambind_outbox_backlog_messages",
		"Rows of the outbox table not yet sent (and deleted), set-aside ones not counted; when the count did not finish within 2s (backlog_estimated 1), the planner's estimate of the table's rows.", []string{"table"}, nil)
	descEstimated = prometheus.NewDesc("streambind_outbox_backlog_estimated",
		"1 when this scrape's backlog is the planner's estimate (the count did not finish within 2s: a huge backlog, a lock on the table), 0 when counted.", []string{"table"}, nil)
	descOldest = prometheus.NewDesc("streambind_outbox_oldest_message_age_seconds",
		"Age of the oldest row not yet sent (0 when the table is empty).", []string{"table"}, nil)
	descRelayed = prometheus.NewDesc("streambind_outbox_relayed_total",
		"Messages this relay sent, confirmed and deleted.", []string{"table"}, nil)
	descFailed = prometheus.NewDesc("streambind_outbox_send_failures_total",
		"Failed sends of this relay (the row stays and is sent again).", []string{"table"}, nil)
	descAside = prometheus.NewDesc("streambind_outbox_set_aside_messages",
		"Rows set aside (dead_at set: their headers cannot be decoded); they stay until deleted or fixed.", []string{"table"}, nil)
	descUp = prometheus.NewDesc("streambind_outbox_database_up",
		"1 when the database answered the last scrape and the table exists (also when the backlog count did not finish in time), 0 when it did not answer within 2s or refused.", []string{"table"}, nil)
)

const (
	// scrapeTimeout bounds the backlog count of one scrape, and the
	// catalog lookup that tells whether the database answers.
	scrapeTimeout = 2 * time.Second
	// ageTimeout bounds the oldest row's age query of a scrape whose
	// count did not finish.
	ageTimeout = time.Second
	// recountAfter is how long the scrapes use the estimate, without
	// counting, after a count that did not finish in time: a count of a
	// huge table is a scan of it, each scrape, when the database is
	// busiest.
	recountAfter = time.Minute
)

// scrapeState is what the scrapes remember between them (see Collect).
type scrapeState struct {
	countTimedOut time.Time // when a count last ran out of time; zero: it did not
	asideCounted  bool      // a count finished: aside and asideOwn are set
	aside         int64     // set-aside rows at the last finished count
	asideOwn      int64     // the relay's SetAside at that count
}

// Describe implements prometheus.Collector.
func (r *Relay) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBacklog, descEstimated, descOldest, descRelayed, descFailed, descAside, descUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A nil relay (an outbox with
// relay: false) collects nothing. At scrape time it queries:
//
//   - The backlog, the oldest row's age and the set-aside rows: one
//     count(*) query, bounded by 2s. count(*) reads the whole table, which
//     an outbox that keeps up keeps small; it gives the exact values, and
//     streambind_outbox_backlog_estimated 0.
//   - When that count did not finish in time (it ran out of its 2s, or the
//     server cancelled it: statement_timeout, lock_timeout) — a backlog
//     of millions of rows, a lock on the table —, a catalog lookup of the
//     table (pg_class, no lock on the table, bounded by 2s) tells whether
//     the database answers: database_up is 1 when it did. The backlog is
//     then the planner's estimate of the table's rows (pg_class.reltuples,
//     kept by autovacuum and ANALYZE; the statistics' live rows before the
//     table's first ANALYZE), set-aside rows included, with
//     backlog_estimated 1; the oldest age is that of the unsent row of the
//     lowest id, the next one the relay sends (an index lookup, bounded by
//     1s; not reported when it did not finish either); the set-aside rows
//     are those of the last count that finished plus those this relay set
//     aside since (not reported before a count finished). For a minute
//     after a count ran out of time the scrapes do not count again, only
//     estimate: a count that cannot finish would scan the table at every
//     scrape, when the database is busiest.
//   - database_up is 0 when the database did not answer (within 2s), the
//     table is missing, or the server refused the count (a right); the
//     backlog gauges are then not reported. Before the relay has its pool
//     (it opens it when it starts), database_up is 0.
func (r *Relay) Collect(ch chan<- prometheus.Metric) {
	if r == nil {
		return
	}
	t := r.t.qualified()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, t)
	}
	ch <- prometheus.MustNewConstMetric(descRelayed, prometheus.CounterValue, float64(r.relayed.Load()), t)
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(r.failed.Load()), t)
	r.mu.Lock()
	pool := r.pool
	st := r.scrape
	r.mu.Unlock()
	if pool == nil { // the relay opens its pool when it starts
		gauge(descUp, 0)
		return
	}
	ranOut := false // this scrape's count ran out of time
	if st.countTimedOut.IsZero() || time.Since(st.countTimedOut) >= recountAfter {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		var n, aside int64
		var age float64
		own := r.setAside.Load()
		err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE dead_at IS NULL), count(*) FILTER (WHERE dead_at IS NOT NULL), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at) FILTER (WHERE dead_at IS NULL)), 0)::float8 FROM "+r.t.quoted()).Scan(&n, &aside, &age)
		cancel()
		if err == nil {
			r.mu.Lock()
			r.scrape = scrapeState{asideCounted: true, aside: aside, asideOwn: own}
			r.mu.Unlock()
			gauge(descUp, 1)
			gauge(descBacklog, float64(n))
			gauge(descEstimated, 0)
			gauge(descOldest, max(age, 0))
			gauge(descAside, float64(aside))
			return
		}
		if !timedOut(err) {
			r.log.Debug("outbox metrics: backlog query failed", "error", redacted(err))
			gauge(descUp, 0)
			return
		}
		r.log.Debug("outbox metrics: the backlog count did not finish in time", "error", redacted(err))
		ranOut = true
	}
	// The count did not finish in time (now or within the last minute):
	// does the database answer? The catalog lookup takes no lock on the
	// table.
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	var est float64
	err := pool.QueryRow(ctx, "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE pg_stat_get_live_tuples(c.oid) END::float8 FROM pg_class c WHERE c.oid = $1::regclass", r.t.quoted()).Scan(&est)
	cancel()
	if err != nil {
		r.log.Debug("outbox metrics: the catalog lookup of the table failed", "error", redacted(err))
		gauge(descUp, 0)
		return
	}
	if ranOut {
		// The database answers: the count ran out of time for the
		// table's sake (its size, a lock). Estimate for a while.
		r.mu.Lock()
		r.scrape.countTimedOut = time.Now()
		r.mu.Unlock()
	}
	gauge(descUp, 1)
	gauge(descBacklog, max(est, 0))
	gauge(descEstimated, 1)
	if st.asideCounted {
		gauge(descAside, float64(st.aside+r.setAside.Load()-st.asideOwn))
	}
	ctx, cancel = context.WithTimeout(context.Background(), ageTimeout)
	defer cancel()
	var age float64
	err = pool.QueryRow(ctx, "SELECT EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8 FROM "+r.t.quoted()+" WHERE dead_at IS NULL ORDER BY id LIMIT 1").Scan(&age)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		gauge(descOldest, 0)
	case err != nil:
		r.log.Debug("outbox metrics: the oldest row's age query failed", "error", redacted(err))
	default:
		gauge(descOldest, max(age, 0))
	}
}

// timedOut reports whether a scrape's query did not finish in time: its
// bound ran out, or the server cancelled it (statement_timeout,
// lock_timeout).
func timedOut(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "57014" || pe.Code == "55P03" // query_canceled, lock_not_available
	}
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}
