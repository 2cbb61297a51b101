package management_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// seriesKey names one series of a binding's counter by its name and its
// labels beyond binding, destination, group and binder, sorted:
// `name{delay="50ms",level="0"}`, or the bare name without extra labels.
func seriesKey(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+`="`+labels[k]+`"`)
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// bindingSeries returns every counter series of binding from GET /metrics,
// by seriesKey.
func bindingSeries(t *testing.T, base, binding string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for name, fam := range scrape(t, base) {
		for _, m := range fam.GetMetric() {
			if m.Counter == nil || label(m, "binding") != binding {
				continue
			}
			extra := map[string]string{}
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "binding", "destination", "group", "binder":
				default:
					extra[lp.GetName()] = lp.GetValue()
				}
			}
			out[seriesKey(name, extra)] = int64(m.Counter.GetValue())
		}
	}
	return out
}

// viewSeries returns every counter series of a binding's JSON view, plain
// and labelled, by seriesKey.
func viewSeries(v management.BindingView) map[string]int64 {
	out := map[string]int64{}
	for name, n := range v.Counters {
		out[name] = n
	}
	for name, ss := range v.LabeledCounters {
		for _, s := range ss {
			out[seriesKey(name, s.Labels)] = s.Value
		}
	}
	return out
}

// A message that fails its first two deliveries on a binding with
// consumer.retry-delays 50ms,50ms,1s is counted once at level 0 and once
// at level 1 by streambind_binding_delayed_retries_total — every level is
// served, the unused one at 0 — and /actuator/bindings serves the same
// series with the same labels and values, while the message waits and
// once it is handled.
func TestDelayedRetriesByLevel(t *testing.T) {
	const in = "charge-in-0"
	second := make(chan struct{})  // the second delivery has begun
	release := make(chan struct{}) // it may fail now
	handled := make(chan string, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "charge", func(_ context.Context, m stream.Message[string]) error {
		switch m.Headers[stream.HeaderRetryAttempts] {
		case "":
			return errors.New("payment service unavailable")
		case "1":
			close(second)
			<-release
			return errors.New("payment service still unavailable")
		}
		handled <- m.Payload + " after " + m.Headers[stream.HeaderRetryAttempts]
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "charge"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out": {Destination: "orders", ContentType: "text/plain"},
			in: {Destination: "orders", Group: "billing", ContentType: "text/plain", Consumer: stream.ConsumerConfig{
				DLQ: true, RetryDelays: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, time.Second}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	base := serveLoopback(t, app)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		stop()
	})
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatal(err)
	}

	const metric = "streambind_binding_delayed_retries_total"
	level := func(l, delay string) string { return seriesKey(metric, map[string]string{"level": l, "delay": delay}) }
	check := func(when string, want map[string]int64) {
		t.Helper()
		prom := bindingSeries(t, base, in)
		v := getBinding(t, base+"/actuator/bindings/"+in)
		js := viewSeries(v)
		for k, n := range want {
			if prom[k] != n {
				t.Errorf("%s: /metrics %s = %d, want %d", when, k, prom[k], n)
			}
		}
		if !reflect.DeepEqual(prom, js) {
			t.Errorf("%s: /metrics and /actuator/bindings differ:\n/metrics %v\nJSON     %v", when, prom, js)
		}
		// The levels in the order of retry-delays, in the JSON as well.
		var order []string
		for _, s := range v.LabeledCounters[metric] {
			order = append(order, s.Labels["level"]+"/"+s.Labels["delay"])
		}
		if want := []string{"0/50ms", "1/50ms", "2/1s"}; !slices.Equal(order, want) {
			t.Errorf("%s: JSON levels %v, want %v", when, order, want)
		}
	}

	check("before any message", map[string]int64{level("0", "50ms"): 0, level("1", "50ms"): 0, level("2", "1s"): 0})
	if err := app.Bridge().Send(ctx, "orders-out", "order-1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second:
	case <-time.After(wait):
		t.Fatal("no second delivery")
	}
	// Parked once (counted before it was parked); the second delivery is
	// under way and has not failed yet.
	check("during the second delivery", map[string]int64{
		level("0", "50ms"): 1, level("1", "50ms"): 0, level("2", "1s"): 0,
		"streambind_binding_retries_total": 1, "streambind_binding_messages_received_total": 0,
	})
	close(release)
	select {
	case got := <-handled:
		if got != "order-1 after 2" {
			t.Errorf("handled %q", got)
		}
	case <-time.After(wait):
		t.Fatal("not handled after two delayed retries")
	}
	stop() // waits for the handler: every counter is final
	check("once handled", map[string]int64{
		level("0", "50ms"): 1, level("1", "50ms"): 1, level("2", "1s"): 0,
		"streambind_binding_retries_total": 2, "streambind_binding_messages_received_total": 1,
		"streambind_binding_errors_total": 0, "streambind_binding_dead_lettered_total": 0,
	})
	if got := app.Binding(in).Stats().DelayedRetries; !slices.Equal(got, []int64{1, 1}) {
		t.Errorf("BindingStats.DelayedRetries = %v, want [1 1]", got)
	}

	// An output binding has no such series.
	out := getBinding(t, base+"/actuator/bindings/orders-out")
	if out.LabeledCounters != nil {
		t.Errorf("orders-out: labeledCounters %v", out.LabeledCounters)
	}
	if _, ok := bindingSeries(t, base, "orders-out")[level("0", "50ms")]; ok {
		t.Error("orders-out has a delayed-retries series")
	}
}
