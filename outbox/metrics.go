package outbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions; every metric has the label table.
var (
	descBacklog = prometheus.NewDesc("streambind_outbox_backlog_messages",
		"Rows of the outbox table not yet sent (and deleted).", []string{"table"}, nil)
	descOldest = prometheus.NewDesc("streambind_outbox_oldest_message_age_seconds",
		"Age of the oldest row not yet sent (0 when the table is empty).", []string{"table"}, nil)
	descRelayed = prometheus.NewDesc("streambind_outbox_relayed_total",
		"Messages this relay sent, confirmed and deleted.", []string{"table"}, nil)
	descFailed = prometheus.NewDesc("streambind_outbox_send_failures_total",
		"Failed sends of this relay (the row stays and is sent again).", []string{"table"}, nil)
	descAside = prometheus.NewDesc("streambind_outbox_set_aside_messages",
		"Rows set aside (dead_at set: their headers cannot be decoded); they stay until deleted or fixed.", []string{"table"}, nil)
	descUp = prometheus.NewDesc("streambind_outbox_database_up",
		"1 when the last scrape could query the outbox table.", []string{"table"}, nil)
)

// scrapeTimeout bounds the backlog query of one scrape.
const scrapeTimeout = 2 * time.Second

// Describe implements prometheus.Collector.
func (r *Relay) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBacklog, descOldest, descRelayed, descFailed, descAside, descUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it counts the table's rows and
// the age of the oldest at scrape time (one query, bounded by 2s; count(*)
// reads the whole table, which an outbox that keeps up keeps small). A
// nil relay (an outbox with relay: false) collects nothing.
func (r *Relay) Collect(ch chan<- prometheus.Metric) {
	if r == nil {
		return
	}
	t := r.t.qualified()
	ch <- prometheus.MustNewConstMetric(descRelayed, prometheus.CounterValue, float64(r.relayed.Load()), t)
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(r.failed.Load()), t)
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var n, aside int64
	var age float64
	r.mu.Lock()
	pool := r.pool
	r.mu.Unlock()
	if pool == nil { // the relay opens its pool when it starts
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0, t)
		return
	}
	err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE dead_at IS NULL), count(*) FILTER (WHERE dead_at IS NOT NULL), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at) FILTER (WHERE dead_at IS NULL)), 0)::float8 FROM "+r.t.quoted()).Scan(&n, &aside, &age)
	if err != nil {
		r.log.Debug("outbox metrics: backlog query failed", "error", redacted(err))
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0, t)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1, t)
	ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(n), t)
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, max(age, 0), t)
	ch <- prometheus.MustNewConstMetric(descAside, prometheus.GaugeValue, float64(aside), t)
}
