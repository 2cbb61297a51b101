package management_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// A state change posted before the app runs (the server starts before
// app.Run, as docs/operations.md wires it) marked an input binding STARTED
// with no consumer yet; the app's start then found it started and started
// nothing: bound, never delivered, and a second STARTED was a no-op.
func TestBreakStateChangeBeforeRunRefused(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"sink-in-0", "src"} {
		code, m, raw := do(t, http.MethodPost, f.base+"/actuator/bindings/"+name, `{"state":"STARTED"}`)
		if code != http.StatusServiceUnavailable || m["state"] != "stopped" || !strings.Contains(m["error"].(string), "starting") {
			t.Fatalf("POST STARTED to %s before Run: %d %s; want 503 saying the app is starting, state stopped", name, code, raw)
		}
	}
	f.run(t)
	if err := f.app.Bridge().Send(context.Background(), "src", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-f.got:
		if s != "hello" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(wait):
		t.Fatal("the consumer never received: its binding reads STARTED but was never started")
	}
	if code, _, raw := do(t, http.MethodPost, f.base+"/actuator/bindings/sink-in-0", `{"state":"PAUSED"}`); code != http.StatusNoContent || f.app.Binding("sink-in-0").State() != stream.StatePaused {
		t.Fatalf("POST PAUSED once running: %d %s, binding %s", code, raw, f.app.Binding("sink-in-0").State())
	}
}

// Once the app stopped, a STARTED was a 500 with the binder's internal
// error for an input, and a 200 STARTED for an output whose producer is
// closed.
func TestBreakStateChangeAfterShutdownRefused(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sink-in-0", "src"} {
		code, m, raw := do(t, http.MethodPost, f.base+"/actuator/bindings/"+name, `{"state":"STARTED"}`)
		if code != http.StatusServiceUnavailable || m["state"] != "stopped" || !strings.Contains(m["error"].(string), "shutting down") {
			t.Fatalf("POST STARTED to %s after shutdown: %d %s; want 503 saying the app is shutting down, state stopped", name, code, raw)
		}
	}
}

// A second Start replaced the running server (its listener and Serve
// leaked) or failed with "address already in use".
func TestBreakStartTwice(t *testing.T) {
	f := newFixture(t)
	srv := management.New(f.app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	addr := srv.Addr()
	if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Fatalf("second Start: %v; want already started", err)
	}
	if srv.Addr() != addr {
		t.Fatalf("second Start moved the server from %s to %s", addr, srv.Addr())
	}
}

// A second Shutdown (a deferred one beside a signal handler's, or two at
// once) waited forever for the result of Serve the first had taken.
func TestBreakShutdownTwice(t *testing.T) {
	f := newFixture(t)
	srv := management.New(f.app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 3)
	go func() { done <- srv.Shutdown(context.Background()) }()
	go func() { done <- srv.Shutdown(context.Background()) }()
	deadline := time.After(wait)
	for i := range 3 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		case <-deadline:
			t.Fatal("a second Shutdown never returns")
		}
		if i == 1 { // and one after both returned
			go func() { done <- srv.Shutdown(context.Background()) }()
		}
	}
}

// A management section left empty (its keys commented out, YAML null) was
// "management.server: unknown key", while an empty section of stream or
// logging is accepted; an unknown one is still refused.
func TestBreakEmptyManagementSectionIsUnset(t *testing.T) {
	for _, y := range []string{
		"management:\n  server:\n    # address: 127.0.0.1:8081\n",
		"management:\n  endpoint:\n    config:\n",
		"management:\n  endpoint:\n",
		"management:\n  server:\n    address:\n    max-connections: 8\n",
		"management:\n  tracing:\n",
	} {
		loaded, err := config.Load(config.Options{Data: []byte(y)})
		if err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		c, err := management.ConfigFrom(loaded.Raw)
		if err != nil || c.Address != "" || !c.ConfigEndpoint || c.ShowValues != management.ShowNever {
			t.Errorf("%q: %+v, %v; want the defaults, server off", y, c, err)
		}
	}
	loaded, err := config.Load(config.Options{Data: []byte("management:\n  server:\n    adress:\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := management.ConfigFrom(loaded.Raw); err == nil || !strings.Contains(err.Error(), "management.server.adress: unknown key") {
		t.Errorf("an empty misspelt key: %v; want unknown key", err)
	}
}

// A dynamic destination whose name is not valid UTF-8 (named by a
// message's sendto.destination header: bytes nothing checks) made the
// collector panic on its label values, and every scrape from then on was a
// 500 whose body was the panic and its stack trace: no metric of any
// binding was served.
func TestBreakMetricsWithInvalidUTF8Destination(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	if err := f.app.Bridge().Send(context.Background(), "route-\xff", "x"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(raw), "panic") {
		t.Fatalf("GET /metrics: %d\n%.600s", resp.StatusCode, raw)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]float64{}
	for _, m := range fams["streambind_binding_messages_sent_total"].GetMetric() {
		sent[label(m, "binding")] = m.GetCounter().GetValue()
	}
	if v, ok := sent[`route-\xff`]; !ok || v != 1 || len(sent) != 3 {
		t.Fatalf("streambind_binding_messages_sent_total by binding: %v; want sink-in-0, src and route-\\xff (1)", sent)
	}
}

// With show-values always, a value that JSON cannot encode (YAML's .inf,
// -.inf, .nan: "no limit" in an application's own section) made
// GET /actuator/config a 200 with an empty body.
func TestBreakConfigNonFiniteValues(t *testing.T) {
	loaded, err := config.Load(config.Options{Data: []byte("myapp:\n  ceiling: .inf\n  floor: -.inf\n  unset: .nan\n  ratio: 1.5\n")})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *management.Options) {
		o.Effective = loaded.Redacted()
		o.ShowValues = management.ShowAlways
	})
	code, _, raw := do(t, http.MethodGet, f.base+"/actuator/config", "")
	var got management.ConfigView
	if err := json.Unmarshal(raw, &got); code != 200 || err != nil {
		t.Fatalf("GET /actuator/config: %d %q (%v)", code, raw, err)
	}
	for k, want := range map[string]any{"myapp.ceiling": ".inf", "myapp.floor": "-.inf", "myapp.unset": ".nan", "myapp.ratio": 1.5} {
		if p := got.Properties[k]; p.Value != want {
			t.Errorf("%s: %+v, want value %v", k, p, want)
		}
	}
}

// A client that gave up on POST STOPPED (curl's --max-time, a Ctrl-C, a
// hook's short timeout) cut the stop short: it took the request's context,
// so the binder stopped waiting for the messages in flight and cancelled
// their handlers' context, failing work the stop was meant to let finish.
func TestBreakStopNotCutShortByClient(t *testing.T) {
	started := make(chan struct{}, 1)
	outcome := make(chan error, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(ctx context.Context, s string) error {
		started <- struct{}{}
		select {
		case <-ctx.Done(): // the handler's work (a query, a call) aborted
			outcome <- ctx.Err()
			return ctx.Err()
		case <-time.After(time.Second):
			outcome <- nil
			return nil
		}
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "src",
		DefaultBinder:  "memory",
		Bindings: map[string]stream.BindingConfig{
			"src":       {Destination: "work"},
			"sink-in-0": {Destination: "work", Group: "g", ContentType: "text/plain"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	ctx := runServed(t, app, srv)
	if err := app.Bridge().Send(ctx, "src", "slow"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(wait):
		t.Fatal("the handler did not start")
	}
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	if resp, err := impatient.Post("http://"+srv.Addr()+"/actuator/bindings/sink-in-0", "application/json",
		strings.NewReader(`{"state":"STOPPED"}`)); err == nil {
		resp.Body.Close()
		t.Fatalf("the stop answered (%d) before its message finished", resp.StatusCode)
	}
	select {
	case err := <-outcome:
		if err != nil {
			t.Fatalf("the in-flight handler's context ended when the client gave up: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("the handler did not finish")
	}
}

// A state change waiting behind another of the same binding holds its
// connection; one whose client gave up must not hold it for the whole
// state-change time, or a client retrying an impatient POST fills
// max-connections and the probes wait.
func TestBreakAbandonedStateChangesFreeTheirConnections(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(ctx context.Context, s string) error {
		started <- struct{}{}
		<-release
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "src",
		DefaultBinder:  "memory",
		Bindings: map[string]stream.BindingConfig{
			"src":       {Destination: "work"},
			"sink-in-0": {Destination: "work", Group: "g", ContentType: "text/plain"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0", MaxConnections: 4}})
	ctx := runServed(t, app, srv)
	var once bool
	defer func() {
		if !once {
			close(release)
		}
	}()
	if err := app.Bridge().Send(ctx, "src", "slow"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(wait):
		t.Fatal("the handler did not start")
	}
	url := "http://" + srv.Addr() + "/actuator/bindings/sink-in-0"
	// One patient stop, waiting for the message.
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"state":"STOPPED"}`))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	// Impatient ones behind it, each on a connection of its own.
	for range 6 {
		impatient := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		if resp, err := impatient.Post(url, "application/json", strings.NewReader(`{"state":"STOPPED"}`)); err == nil {
			resp.Body.Close()
		}
	}
	probe := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := probe.Get("http://" + srv.Addr() + "/health/liveness")
	if err != nil {
		t.Fatalf("a probe behind abandoned state changes: %v", err)
	}
	resp.Body.Close()
	close(release)
	once = true
	select {
	case code := <-first:
		if code != http.StatusNoContent {
			t.Fatalf("the patient stop: %d", code)
		}
	case <-time.After(wait):
		t.Fatal("the patient stop did not answer")
	}
}

// A setting written twice in two spellings (read-timeout and readTimeout),
// or under its alias (endpoints.config.enabled), with two values took
// whichever the map's order visited last: a different value from one start
// to the next (the config endpoint served or not). It is an error, as
// show-values' aliases were already.
func TestBreakSettingWrittenTwiceIsAnError(t *testing.T) {
	for y, want := range map[string]string{
		"management:\n  server:\n    read-timeout: 5s\n    readTimeout: 20s\n":                                          "management.server.read-timeout: 5s conflicts with management.server.readtimeout: 20s",
		"management:\n  endpoint:\n    config:\n      enabled: false\n  endpoints:\n    config:\n      enabled: true\n": "management.endpoint.config.enabled: false conflicts with management.endpoints.config.enabled: true",
		"management:\n  server:\n    read-timeout: 5s\n    readTimeout: 5s\n":                                           "",
	} {
		loaded, err := config.Load(config.Options{Data: []byte(y)})
		if err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		for range 20 { // every order the map may be walked in
			c, err := management.ConfigFrom(loaded.Raw)
			if want == "" {
				if err != nil || c.ReadTimeout != 5*time.Second {
					t.Fatalf("%q: %v, %v", y, c.ReadTimeout, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("%q: %v; want %s", y, err, want)
			}
		}
	}
}

// management.tracing.* is telemetry's: management reported its two
// spellings' conflict too (a second time, in lint), quoting both values
// whole (a tracing endpoint's credentials).
func TestTracingConflictsLeftToTelemetry(t *testing.T) {
	raw := map[string]any{"management": map[string]any{"tracing": map[string]any{
		"endpoint": "http://u:hunter2@collector:4318", "Endpoint": "http://collector:4318"}}}
	for range 20 {
		if _, err := management.ConfigFrom(raw); err != nil {
			t.Fatalf("management reports telemetry's keys: %v", err)
		}
	}
}
