package management_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// TestInFlightGauges: a handler that does not return shows in
// streambind_binding_messages_in_flight and, growing,
// streambind_binding_oldest_in_flight_seconds (and the same numbers in
// /actuator/bindings) while it runs; both are 0 once it returned.
func TestInFlightGauges(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(ctx context.Context, s string) error {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "audit"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out": {Destination: "orders"},
			"audit-in-0": {Destination: "orders", Group: "audit", ContentType: "text/plain"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	base := serveLoopback(t, app)
	bindertest.RunApp(t, app)
	if err := app.Bridge().Send(context.Background(), "orders-out", "o-1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("handler not called")
	}
	gauges := func() (n, oldest float64) {
		t.Helper()
		fams := scrape(t, base)
		get := func(name string) float64 {
			f := fams[name]
			if f == nil {
				t.Fatalf("/metrics has no %s", name)
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "binding" && l.GetValue() == "audit-in-0" {
						return m.GetGauge().GetValue()
					}
				}
			}
			t.Fatalf("%s has no series of audit-in-0", name)
			return 0
		}
		return get("streambind_binding_messages_in_flight"), get("streambind_binding_oldest_in_flight_seconds")
	}
	// The age grows while the handler runs: polled until it passed 1s.
	deadline := time.Now().Add(wait)
	for {
		n, oldest := gauges()
		if n != 1 {
			t.Fatalf("messages_in_flight %v while the handler runs; want 1", n)
		}
		if oldest >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("oldest_in_flight_seconds %v after %s of a running handler", oldest, wait)
		}
		time.Sleep(50 * time.Millisecond) // polling a gauge; the condition decides
	}
	var views []management.BindingView
	getJSON(t, base+"/actuator/bindings", &views)
	for _, v := range views {
		switch {
		case v.BindingName == "audit-in-0" && (v.InFlight == nil || *v.InFlight != 1 || v.OldestInFlightSeconds == nil || *v.OldestInFlightSeconds < 1):
			t.Errorf("/actuator/bindings audit-in-0: inFlight %v, oldestInFlightSeconds %v; want 1 and >= 1", v.InFlight, v.OldestInFlightSeconds)
		case !v.Input && (v.InFlight != nil || v.OldestInFlightSeconds != nil):
			t.Errorf("output binding %s has in-flight gauges", v.BindingName)
		}
	}
	close(release)
	deadline = time.Now().Add(wait)
	for {
		n, oldest := gauges()
		if n == 0 && oldest == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the handler returned: in flight %v, oldest %vs; want 0 and 0", n, oldest)
		}
		time.Sleep(10 * time.Millisecond) // the count drops just after the handler returned
	}
}
