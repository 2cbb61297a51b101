package management_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// shopFixture runs an app whose names have upper-case letters — a consumer
// chargePayment (failing on "bad", dead-lettered) fed by the bridge's
// output binding Orders-Out, and a registered function that is not bound
// — with a management server on a loopback port. It returns the server's
// base URL once the app is stopped, so that every counter is final (a
// message is counted just after its handler returned; stopping waits for
// the handlers).
func shopFixture(t *testing.T, good, bad int) string {
	t.Helper()
	got := make(chan string, good)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "chargePayment", func(_ context.Context, s string) error {
		if strings.HasPrefix(s, "bad") {
			return stream.Permanent(errors.New("bad message"))
		}
		got <- s
		return nil
	})
	stream.AddFunction(fns, "refund", func(_ context.Context, o map[string]any) ([]byte, error) { return nil, nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "chargePayment"},
		OutputBindings: "Orders-Out",
		Bindings: map[string]stream.BindingConfig{
			"Orders-Out":         {Destination: "orders"},
			"chargePayment-in-0": {Destination: "orders", Group: "payment", ContentType: "text/plain", Consumer: stream.ConsumerConfig{DLQ: true}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"},
		Effective: map[string]any{"spring": map[string]any{"application": map[string]any{"name": "shop"}}}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	for i := range good + bad {
		msg := "ok"
		if i < bad {
			msg = "bad"
		}
		if err := app.Bridge().Send(ctx, "Orders-Out", msg); err != nil {
			t.Fatal(err)
		}
	}
	for range good {
		select {
		case <-got:
		case <-time.After(wait):
			t.Fatal("timeout")
		}
	}
	// The bad ones: until their dead letters are counted.
	deadline := time.Now().Add(wait)
	for app.Binding("chargePayment-in-0").Stats().DeadLettered < int64(bad) {
		if time.Now().After(deadline) {
			t.Fatal("dead letters not counted in time")
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	return "http://" + srv.Addr()
}

// serveLoopback starts a management server for app on a loopback port,
// shut down when the test ends, and returns its base URL.
func serveLoopback(t *testing.T, app *stream.App) string {
	t.Helper()
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return "http://" + srv.Addr()
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// getBinding GETs one binding, url/actuator/bindings/{name}: SCSt's
// queryState, a list, which must hold exactly that binding.
func getBinding(t *testing.T, url string) management.BindingView {
	t.Helper()
	var list []management.BindingView
	getJSON(t, url, &list)
	if len(list) != 1 {
		t.Fatalf("GET %s: %d bindings, want 1: %+v", url, len(list), list)
	}
	return list[0]
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// Every counter of /actuator/bindings is the Prometheus counter of the same
// name for that binding, and every binding counter of /metrics is in the
// JSON; the histogram's buckets come with their bounds and are those of
// /metrics.
func TestBindingCountersAreTheMetrics(t *testing.T) {
	const good, bad = 5, 2
	base := shopFixture(t, good, bad)
	var views []management.BindingView
	getJSON(t, base+"/actuator/bindings", &views)
	fams := scrape(t, base)
	byBinding := map[string]map[string]float64{} // binding → counter → value, from /metrics
	var hist *dto.Histogram
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			b := label(m, "binding")
			if b == "" {
				continue
			}
			if m.Counter != nil {
				if byBinding[b] == nil {
					byBinding[b] = map[string]float64{}
				}
				byBinding[b][name] = m.Counter.GetValue()
			}
			if m.Histogram != nil && b == "chargePayment-in-0" {
				hist = m.Histogram
			}
		}
	}
	want := map[string]map[string]int64{
		"Orders-Out": {"streambind_binding_messages_sent_total": good + bad, "streambind_binding_errors_total": 0,
			"streambind_binding_duplicate_sends_total": 0},
		"chargePayment-in-0": {
			"streambind_binding_messages_received_total": good + bad, "streambind_binding_messages_sent_total": 0,
			"streambind_binding_errors_total": bad, "streambind_binding_retries_total": 0,
			"streambind_binding_dead_lettered_total": bad, "streambind_binding_dropped_total": 0,
			"streambind_binding_dead_letters_truncated_total": 0, "streambind_binding_dead_letters_headers_only_total": 0,
			// The fixture reads no DLQ: the in-process broker keeps
			// nothing for nobody, so the dead letters are lost, and said so.
			"streambind_binding_dead_letters_dropped_total": bad,
		},
	}
	if len(views) != 2 {
		t.Fatalf("%d bindings: %+v", len(views), views)
	}
	for _, v := range views {
		if !reflect.DeepEqual(v.Counters, want[v.BindingName]) {
			t.Errorf("%s: counters %v, want %v", v.BindingName, v.Counters, want[v.BindingName])
		}
		prom := byBinding[v.BindingName]
		if len(prom) != len(v.Counters) {
			t.Errorf("%s: /metrics has %d counters, the JSON %d: %v vs %v", v.BindingName, len(prom), len(v.Counters), prom, v.Counters)
		}
		for name, n := range v.Counters {
			if p, ok := prom[name]; !ok || p != float64(n) {
				t.Errorf("%s: %s is %d in the JSON, %v (present %v) in /metrics", v.BindingName, name, n, p, ok)
			}
		}
		if (v.HandlerDuration != nil) != v.Input {
			t.Errorf("%s: handler duration %+v", v.BindingName, v.HandlerDuration)
		}
	}
	in := getBinding(t, base+"/actuator/bindings/chargePayment-in-0")
	h := in.HandlerDuration
	if hist == nil || h == nil || h.Count != good+bad || uint64(h.Count) != hist.GetSampleCount() || len(h.Buckets)+1 != len(hist.GetBucket()) { // Prometheus adds +Inf
		t.Fatalf("histogram: JSON %+v, Prometheus %v", h, hist)
	}
	for i, b := range h.Buckets {
		pb := hist.GetBucket()[i]
		if b.LE != stream.HandlerBuckets()[i] || b.LE != pb.GetUpperBound() || uint64(b.Count) != pb.GetCumulativeCount() {
			t.Errorf("bucket %d: JSON %+v, Prometheus le=%v count=%v", i, b, pb.GetUpperBound(), pb.GetCumulativeCount())
		}
	}
}

// Names are served as configured (case kept), found whatever their case.
func TestNamesAsConfigured(t *testing.T) {
	base := shopFixture(t, 1, 0)
	v := getBinding(t, base+"/actuator/bindings/CHARGEPAYMENT-in-0")
	if v.BindingName != "chargePayment-in-0" {
		t.Errorf("bindingName %q", v.BindingName)
	}
	for _, m := range scrape(t, base)["streambind_binding_state"].GetMetric() {
		if b := label(m, "binding"); b != "chargePayment-in-0" && b != "Orders-Out" {
			t.Errorf("metric label binding=%q", b)
		}
	}
}

func TestFunctionsEndpoint(t *testing.T) {
	base := shopFixture(t, 1, 0)
	var got []stream.FunctionInfo
	getJSON(t, base+"/actuator/functions", &got)
	want := []stream.FunctionInfo{
		{Name: "chargePayment", Kind: "consumer", InputType: "string", Bound: true, BoundAs: []string{"chargePayment"}},
		{Name: "refund", Kind: "function", InputType: "map[string]interface {}", OutputType: "[]uint8"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestTopologyEndpoint(t *testing.T) {
	base := shopFixture(t, 1, 0)
	var m topology.Model
	getJSON(t, base+"/actuator/topology", &m)
	if len(m.Services) != 1 || m.Services[0].Name != "shop" {
		t.Fatalf("services %+v", m.Services)
	}
	s := m.Services[0]
	if len(s.Functions) != 1 || s.Functions[0].Name != "chargePayment" || s.Functions[0].Kind != "consumer" {
		t.Errorf("functions %+v", s.Functions)
	}
	var names []string
	for _, b := range s.Bindings {
		names = append(names, b.Name+" "+b.Direction+" "+strings.Join(b.DeadLetters, ","))
	}
	if want := []string{"chargePayment-in-0 in error.orders.payment", "Orders-Out out "}; !reflect.DeepEqual(names, want) {
		t.Errorf("bindings %q, want %q", names, want)
	}
	var dests []string
	for _, d := range m.Destinations {
		dests = append(dests, d.ID)
	}
	if want := []string{"memory:error.orders.payment", "memory:orders"}; !reflect.DeepEqual(dests, want) {
		t.Errorf("destinations %v, want %v", dests, want)
	}
	if len(m.Findings) != 1 || m.Findings[0].Kind != "dead-letters-unread" {
		t.Errorf("findings %+v", m.Findings)
	}
}

// Endpoints lists exactly the routes the server answers.
func TestEndpointsAreServed(t *testing.T) {
	app, err := stream.NewApp(&stream.Config{OutputBindings: "Orders-Out"}, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	for _, configEndpoint := range []bool{true, false} {
		srv := management.New(app, management.Options{Config: management.Config{ConfigEndpoint: configEndpoint}})
		eps := srv.Endpoints()
		if want := 15; configEndpoint {
			want = 16
			if len(eps) != want {
				t.Fatalf("%d endpoints: %v", len(eps), eps)
			}
		} else if len(eps) != want || slices.Contains(eps, "GET /actuator/config") {
			t.Fatalf("%d endpoints without the config endpoint: %v", len(eps), eps)
		}
		for _, e := range append(eps, "GET /actuator/nope") {
			method, path, _ := strings.Cut(e, " ")
			path = strings.ReplaceAll(path, "{name}", "Orders-Out")
			path = strings.ReplaceAll(path, "{path...}", "ping")
			req := httptest.NewRequest(method, path, strings.NewReader(`{"state":"STOPPED"}`))
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			served := rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed
			if served != (path != "/actuator/nope") {
				t.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body)
			}
		}
	}
	if !slices.Contains(management.New(app, management.Options{}).Endpoints(), "GET /actuator/topology") {
		t.Error("no topology endpoint")
	}
}
