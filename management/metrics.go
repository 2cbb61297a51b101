package management

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streambind/streambind/stream"
)

// Metric descriptions. Every binding metric has the labels binding,
// destination, group and binder.
var (
	bindingLabels = []string{"binding", "destination", "group", "binder"}

	descDuration  = prometheus.NewDesc("streambind_binding_handler_duration_seconds", "Time to handle an input message: handler, output send until the broker stored it, retries included.", bindingLabels, nil)
	descState     = prometheus.NewDesc("streambind_binding_state", "1 for the binding's current state.", append(bindingLabels, "state"), nil)
	descBindingUp = prometheus.NewDesc("streambind_binding_up", "1 while the binding can use its destination (as far as its binder can tell).", bindingLabels, nil)
	descBinderUp  = prometheus.NewDesc("streambind_binder_up", "1 while the binder is connected to its broker.", []string{"binder", "type"}, nil)
	descLag       = prometheus.NewDesc("streambind_consumer_lag", "Messages of a partition the consumer has not yet consumed: from its position to the end (Kafka), or not yet delivered to it (RabbitMQ queue, NATS durable consumer, Redis consumer group).", []string{"binding", "topic", "partition"}, nil)
	descInFlight  = prometheus.NewDesc("streambind_binding_messages_in_flight", "Input messages in handling now (handler, retries and their back-off, a function's output send until the broker stored it, a failed message's dead letter until it is sent).", bindingLabels, nil)
	descOldest    = prometheus.NewDesc("streambind_binding_oldest_in_flight_seconds", "How long the oldest input message in handling has been, counted from the start of the second it began in (up to 1s over; 0 when none): one that keeps growing is a handler that does not return.", bindingLabels, nil)
)

// bindingCounter is one counter of a binding, served under the same name
// by /metrics and by /actuator/bindings ("counters"), from one
// definition, so that the two cannot mean different things.
type bindingCounter struct {
	name string
	desc *prometheus.Desc
	// side: the bindings it is served for.
	side  counterSide
	value func(counterSource) int64
}

// counterSide says which bindings a counter is served for.
type counterSide int

const (
	anySide    counterSide = iota // input and output bindings
	inputSide                     // input bindings only
	outputSide                    // output bindings only
)

// serves reports whether the counter is served for b.
func (c bindingCounter) serves(b *stream.Binding) bool {
	switch c.side {
	case inputSide:
		return b.IsInput()
	case outputSide:
		return !b.IsInput()
	}
	return true
}

// counterSource is what the counters of a binding are read from: the
// snapshot of its stats and its binder's dead-letter (input) and send
// (output) counts.
type counterSource struct {
	st   stream.BindingStats
	dl   stream.DeadLetterStats
	send stream.SendStats
}

// sourceOf reads b's counter source; st is the snapshot of its stats.
func sourceOf(b *stream.Binding, st stream.BindingStats) counterSource {
	src := counterSource{st: st}
	if b.IsInput() {
		src.dl = b.DeadLetterStats()
	} else {
		src.send = b.SendStats()
	}
	return src
}

func counterDef(name, help string, side counterSide, value func(counterSource) int64) bindingCounter {
	return bindingCounter{name: name, desc: prometheus.NewDesc(name, help, bindingLabels, nil), side: side, value: value}
}

// bindingCounters are the counters of a binding, in the order they are
// served.
var bindingCounters = []bindingCounter{
	counterDef("streambind_binding_messages_received_total", "Input messages handled (successfully or not, after their last attempt).", inputSide,
		func(c counterSource) int64 { return c.st.Processed + c.st.Failed }),
	counterDef("streambind_binding_messages_sent_total", "Messages sent through an output binding and confirmed by the broker.", anySide,
		func(c counterSource) int64 { return c.st.Sent }),
	counterDef("streambind_binding_errors_total", "Input messages that failed every attempt, plus failed sends and supplier errors.", anySide,
		func(c counterSource) int64 { return c.st.Failed + c.st.Errors }),
	counterDef("streambind_binding_retries_total", "Retry attempts of input messages.", inputSide,
		func(c counterSource) int64 { return c.st.Retried }),
	counterDef("streambind_binding_dead_lettered_total", "Input messages handed to the dead-letter queue (streambind_binding_dead_letters_dropped_total counts those the broker refused even when fitted).", inputSide,
		func(c counterSource) int64 { return c.st.DeadLettered }),
	counterDef("streambind_binding_dropped_total", "Input messages dropped after their last attempt (no dlq).", inputSide,
		func(c counterSource) int64 { return c.st.Dropped }),
	counterDef("streambind_binding_dead_letters_truncated_total", "Dead letters sent with something cut to fit the broker's limits (x-streambind-truncated).", inputSide,
		func(c counterSource) int64 { return c.dl.Truncated }),
	counterDef("streambind_binding_dead_letters_headers_only_total", "Dead letters sent without their payload, which did not fit the broker's limits.", inputSide,
		func(c counterSource) int64 { return c.dl.HeadersOnly }),
	counterDef("streambind_binding_dead_letters_dropped_total", "Failed messages that could not be dead-lettered, dropped: the broker would not take even a headers-only dead letter (in process: no group reads the dead-letter destination).", inputSide,
		func(c counterSource) int64 { return c.dl.Dropped }),
	counterDef("streambind_binding_duplicate_sends_total", "Sends the broker acknowledged as a duplicate and did not store: a message whose id (NATS JetStream: the Nats-Msg-Id, from the id header) it already had within the stream's duplicate-window. Each Send succeeded; a different message that reused an id is lost. The binder's own retry of a send whose acknowledgement was lost is not counted.", outputSide,
		func(c counterSource) int64 { return c.send.Duplicates }),
}

// descDelayedRetries is the one labelled binding counter: a series per
// level of consumer.retry-delays.
var descDelayedRetries = prometheus.NewDesc("streambind_binding_delayed_retries_total",
	"Input messages parked for a delayed redelivery (consumer.retry-delays), by level: the index in retry-delays, from 0, and its delay. Each is also counted in streambind_binding_retries_total.",
	append(bindingLabels, "level", "delay"), nil)

// labeledCounter is one series of a counter that has labels beyond
// bindingLabels: served by /metrics and, with the same labels, by
// /actuator/bindings ("labeledCounters").
type labeledCounter struct {
	desc   *prometheus.Desc
	name   string
	labels []string // the extra labels' names
	values []string // and values
	value  int64
}

// labeledCounters returns the labelled counters of b, read from the
// snapshot st of its stats: one series of
// streambind_binding_delayed_retries_total per level of an input binding's
// consumer.retry-delays, zero included (so that a rate over it starts from
// the first scrape, not from the first retry); none without retry-delays.
func labeledCounters(b *stream.Binding, st stream.BindingStats) []labeledCounter {
	if !b.IsInput() {
		return nil
	}
	delays := b.Config().Consumer.RetryDelays
	out := make([]labeledCounter, 0, len(delays))
	for i, d := range delays {
		var n int64
		if i < len(st.DelayedRetries) {
			n = st.DelayedRetries[i]
		}
		out = append(out, labeledCounter{desc: descDelayedRetries, name: "streambind_binding_delayed_retries_total",
			labels: []string{"level", "delay"}, values: []string{strconv.Itoa(i), d.String()}, value: n})
	}
	return out
}

// counters returns the counters of b by name, read from the snapshot st
// of its stats.
func counters(b *stream.Binding, st stream.BindingStats) map[string]int64 {
	src := sourceOf(b, st)
	out := make(map[string]int64, len(bindingCounters))
	for _, c := range bindingCounters {
		if c.serves(b) {
			out[c.name] = c.value(src)
		}
	}
	return out
}

// collector exposes an app's binding counters to Prometheus. It reads them
// at scrape time, so it costs nothing per message.
type collector struct{ app *stream.App }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDuration, descState, descBinderUp, descLag, descBindingUp, descDelayedRetries, descInFlight, descOldest} {
		ch <- d
	}
	for _, bc := range bindingCounters {
		ch <- bc.desc
	}
}

// Collect serves the metrics. Health has a context of its own (2s, for
// the bindings' and the binders'), and the lag reads another, made after
// Health is done, so that a broker slow to tell a binding's lag cannot
// use up Health's time (a binder honouring it would show down).
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var lagged []*stream.Binding
	counter := func(d *prometheus.Desc, v int64, labels []string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, b := range bindings(c.app) {
		labels := []string{labelValue(b.Name()), labelValue(b.Destination()), labelValue(b.Group()), labelValue(b.Binder())}
		st := b.Stats()
		src := sourceOf(b, st)
		for _, bc := range bindingCounters {
			if bc.serves(b) {
				counter(bc.desc, bc.value(src), labels)
			}
		}
		for _, lc := range labeledCounters(b, st) {
			counter(lc.desc, lc.value, append(labels[:len(labels):len(labels)], lc.values...))
		}
		for _, s := range []stream.State{stream.StateStarted, stream.StateStopped, stream.StatePaused} {
			v := 0.0
			if b.State() == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, append(labels, string(s))...)
		}
		up := 1.0
		if b.Health(ctx) != nil {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(descBindingUp, prometheus.GaugeValue, up, labels...)
		if !b.IsInput() {
			continue
		}
		buckets := make(map[float64]uint64, len(stream.HandlerBuckets()))
		for i, ub := range stream.HandlerBuckets() {
			buckets[ub] = uint64(st.HandlerBuckets[i])
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, uint64(st.HandlerCalls), st.HandlerTime.Seconds(), buckets, labels...)
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(st.InFlight), labels...)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, st.OldestInFlight.Seconds(), labels...)
		lagged = append(lagged, b)
	}
	for _, h := range c.app.Health(ctx) {
		v := 0.0
		if h.Up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descBinderUp, prometheus.GaugeValue, v, labelValue(h.Name), labelValue(h.Type))
	}
	lagCtx, lagCancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer lagCancel()
	for _, b := range lagged {
		if lags, err := b.Lag(lagCtx); err == nil {
			for _, l := range lags {
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(l.Lag), labelValue(b.Name()), labelValue(l.Topic), strconv.Itoa(l.Partition))
			}
		}
	}
}

// labelValue is s as a Prometheus label value, which must be valid UTF-8:
// a name that is not (a dynamic destination named by a message's
// spring.cloud.stream.sendto.destination header, whose bytes nothing
// checks) has each invalid byte written \xNN. Else the collector's
// MustNewConstMetric panicked and every scrape was a 500 with a stack trace.
func labelValue(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
