package management

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streambind/streambind/internal/actuatorpath"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// StateChangeTimeout bounds a POST /actuator/bindings/{name}: how long a
// stop or pause waits for the messages in flight (and at most the write
// timeout less one second).
const StateChangeTimeout = 30 * time.Second

// Options configure a [Server].
type Options struct {
	Config
	// Effective is the configuration tree served by /actuator/config:
	// config.Loaded.Redacted(), which hides also the values that came
	// from placeholders naming secrets (Loaded.Raw would show those where
	// the key names none: max-attempts: ${DB_PASSWORD}); the endpoint
	// applies redact.Tree's key and URL rules on top. The origins of its
	// keys are the app's (stream.Config.Origins). Nil: the endpoint
	// serves the app's decoded stream section only.
	Effective map[string]any
	// Logger for the server's own lines. Default: discard.
	Logger *slog.Logger
	// Registry is the registry GET /metrics and /actuator/prometheus
	// serve, and nothing else: New adds the app's metrics
	// (streambind_binding_* ...) to it. Default: a new registry of the
	// server's own with the Go and process collectors; register the
	// idempotent consumer and the outbox relay on the one served,
	// [Server.Registry] (mgmt.Registry().MustRegister(idem, ob.Relay())).
	// Collectors registered on prometheus.DefaultRegisterer are not
	// served unless it is this registry:
	// Registry: prometheus.DefaultRegisterer.(*prometheus.Registry) (it
	// has the Go and process collectors already). A given registry gets
	// no Go or process collector from New.
	Registry *prometheus.Registry
	// Service names the app in GET /actuator/topology. Default:
	// spring.application.name of Effective, else "app".
	Service string
	// Profiles are the active profiles (config.Loaded.Profiles), shown
	// by GET /actuator/topology. Default: none.
	Profiles []string
}

// Server serves the management endpoints of one app.
type Server struct {
	app  *stream.App
	opts Options
	mux  *http.ServeMux
	// paths are where the actuator endpoints are served; routes are the
	// patterns registered on mux, for Endpoints.
	paths  actuatorpath.Settings
	routes []string
	srv    *http.Server
	ln     net.Listener
	done   chan error
	// waited guards serveErr: the first Shutdown takes Serve's result
	// from done, the others (concurrent or later) share it.
	waited   sync.Once
	serveErr error
	// wrap, when set (by tests), wraps the listener under the connection
	// bound, to observe every connection.
	wrap func(net.Listener) net.Listener
	// changing holds, per binding, the one state change running through
	// this server (a 1-slot channel): those behind it wait for it as long
	// as their client does.
	changingMu sync.Mutex
	changing   map[*stream.Binding]chan struct{}
}

// lockChange waits for b's turn to change state through the server, until
// ctx ends; it returns the unlock.
func (s *Server) lockChange(ctx context.Context, b *stream.Binding) (func(), error) {
	s.changingMu.Lock()
	if s.changing == nil {
		s.changing = map[*stream.Binding]chan struct{}{}
	}
	ch, ok := s.changing[b]
	if !ok {
		ch = make(chan struct{}, 1)
		s.changing[b] = ch
	}
	s.changingMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	default:
	}
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("binding %s: another state change is in progress: %w", b.Name(), ctx.Err())
	}
}

// New returns a server for app. It listens only once Start is called, and
// only if opts.Address is set.
func New(app *stream.App, opts Options) *Server {
	opts.Config = opts.Config.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	opts.Registry.MustRegister(&collector{app: app})
	s := &Server{app: app, opts: opts, mux: http.NewServeMux()}
	// A metric that cannot be gathered (a collector's error or panic, two
	// series alike) is logged and left out: the scrape serves the others,
	// rather than a 500 whose body is the error and its stack trace.
	metrics := promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	})
	// The actuator endpoints (id set) are written at Spring Boot's
	// default paths, /actuator/<id>; s.routes moves them to the
	// configured base path and path mapping. Spring Boot Actuator's
	// health, prometheus and info are there so that the probes and
	// scrape configurations of a ported Spring service keep working.
	s.register([]route{
		{"bindings", "GET /actuator/bindings", http.HandlerFunc(s.listBindings)},
		{"bindings", "GET /actuator/bindings/{name}", http.HandlerFunc(s.getBinding)},
		{"bindings", "POST /actuator/bindings/{name}", http.HandlerFunc(s.setBindingState)},
		{"functions", "GET /actuator/functions", http.HandlerFunc(s.functions)},
		{"topology", "GET /actuator/topology", http.HandlerFunc(s.topology)},
		{"", "GET /health/liveness", http.HandlerFunc(s.liveness)},
		{"", "GET /health/readiness", http.HandlerFunc(s.readiness)},
		{"", "GET /metrics", metrics},
		{"config", "GET /actuator/config", http.HandlerFunc(s.config)},
		{"health", "GET /actuator/health", http.HandlerFunc(s.actuatorHealth)},
		{"health", "GET /actuator/health/liveness", http.HandlerFunc(s.actuatorLiveness)},
		{"health", "GET /actuator/health/readiness", http.HandlerFunc(s.actuatorReadiness)},
		{"health", "GET /actuator/health/{path...}", http.HandlerFunc(s.actuatorHealthPath)},
		{"prometheus", "GET /actuator/prometheus", metrics},
		{"info", "GET /actuator/info", http.HandlerFunc(s.actuatorInfo)},
		{"", "GET /actuator", http.HandlerFunc(s.discovery)},
	})
	return s
}

// Registry returns the registry the server's metrics endpoints serve
// (GET /metrics, /actuator/prometheus): Options.Registry, or the server's
// own when that was nil. Register the collectors of the app's other parts
// on it, the idempotent consumer and the outbox relay:
//
//	mgmt := management.New(app, management.Options{Config: mcfg})
//	mgmt.Registry().MustRegister(idem, ob.Relay())
func (s *Server) Registry() *prometheus.Registry { return s.opts.Registry }

// Endpoints returns the routes the server serves ("GET /actuator/bindings",
// ...), at their configured paths, for a start-up line or an index (the
// root as "GET /").
func (s *Server) Endpoints() []string {
	out := make([]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = strings.Replace(r, "/{$}", "/", 1)
	}
	return out
}

// Handler returns the endpoints as an http.Handler, to mount elsewhere.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on the configured address and serves in the background. It
// does nothing when no address is configured (management is off by default).
func (s *Server) Start() error {
	if s.opts.Address == "" {
		return nil
	}
	if s.srv != nil {
		return fmt.Errorf("management: server on %s already started (a Server starts once)", s.Addr())
	}
	ln, err := net.Listen("tcp", s.opts.Address)
	if err != nil && s.opts.MainServer {
		// The port is Spring Boot's server.port, which an app's own HTTP
		// server may have taken first: say where the address came from.
		return fmt.Errorf("management: listen on %s, server.port (Spring Boot serves the actuator on the main server unless management.server.port is set): %w; if the app's own HTTP server listens on server.port, mount the management Handler on it, or set management.server.port to another port (-1: no management server)", s.opts.Address, err)
	}
	if err != nil {
		return fmt.Errorf("management: listen on %s: %w", s.opts.Address, err)
	}
	s.ln = ln
	c := s.opts.Config
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
	s.done = make(chan error, 1)
	inner := ln
	if s.wrap != nil {
		inner = s.wrap(ln)
	}
	limited := netutil.LimitListener(inner, c.MaxConnections)
	s.srv.ConnState = idleAtCapacity(c.MaxConnections)
	go func() { s.done <- s.srv.Serve(limited) }()
	s.opts.Logger.Info("management server listening", "address", ln.Addr().String(),
		"max-connections", c.MaxConnections, "read-timeout", c.ReadTimeout, "write-timeout", c.WriteTimeout,
		"idle-timeout", c.IdleTimeout)
	if !loopback(ln.Addr()) {
		// As Spring Boot, management.server.port alone listens on every
		// interface (probes reach it on the pod's address); unlike
		// Spring Boot's default exposure, every endpoint is served,
		// state changes included, unless exposure says otherwise.
		what := "read every endpoint served"
		if p := "POST " + muxPath(joinPath(s.paths.Path("bindings"), "/{name}")); slices.Contains(s.routes, p) {
			what = "stop, pause and start bindings (" + p + ")"
		}
		s.opts.Logger.Warn("management server listens beyond loopback, without authentication: anyone who reaches the port can "+what+"; set management.server.address (MANAGEMENT_SERVER_ADDRESS) to 127.0.0.1:<port> or protect the port",
			"address", ln.Addr().String())
	}
	return nil
}

// idleAtCapacity is the server's ConnState: a connection that goes idle
// (keep-alive, between requests) while max connections are open is
// closed, so that a new one — a readiness probe — gets its slot at once.
// Idle clients (a scraper's or a load balancer's pool) held every slot of
// the connection limit, and a probe waited until their idle-timeout
// (70 idle connections: 29.5 s).
func idleAtCapacity(max int) func(net.Conn, http.ConnState) {
	var mu sync.Mutex
	open := 0
	return func(c net.Conn, st http.ConnState) {
		mu.Lock()
		switch st {
		case http.StateNew:
			open++
		case http.StateClosed, http.StateHijacked:
			open--
		}
		full := open >= max
		mu.Unlock()
		if st == http.StateIdle && full {
			c.Close()
		}
	}
}

// loopback reports whether a listens on a loopback address only.
func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Addr is the address the server listens on ("" when off).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops the server, waiting for requests in flight (bounded by ctx).
// It may be called more than once, and at once from several goroutines (a
// deferred Shutdown beside a signal handler's): each waits as the first.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	s.waited.Do(func() { s.serveErr = <-s.done })
	if serr := s.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("management: shutdown: %w", err)
	}
	return nil
}

// BindingView is the JSON form of a binding, Spring Cloud Stream's: the
// fields of its Binding as its BindingsLifecycleController serializes them
// (DefaultBinding's bindingName, name, group, pausable, state, then
// paused, input, binderName, binderType), with the same values, so that
// the scripts and dashboards of a ported Spring service read it unchanged;
// streambind's own fields follow, under names SCSt does not use.
type BindingView struct {
	// BindingName is the binding's name as configured (its case kept):
	// "process-in-0".
	BindingName string `json:"bindingName"`
	// Name is the binding's destination, as SCSt's name is (a consumer of
	// several destinations has them comma-separated, as configured).
	Name string `json:"name"`
	// Group is the consumer group; null for an output binding and an
	// anonymous consumer, as in SCSt.
	Group *string `json:"group"`
	// Pausable is true when a PAUSED can be sent to the binding: every
	// binding of the app (outputs too: a paused output holds its sends),
	// not a dynamic destination's.
	Pausable bool `json:"pausable"`
	// State is SCSt's: running, stopped or paused (BindingRunning, ...).
	State string `json:"state"`
	// Paused is true while the binding is paused.
	Paused bool `json:"paused"`
	// Input is true for an input (consumer) binding.
	Input bool `json:"input"`
	// BinderName and BinderType are the binder's name (stream.binders'
	// key, or the type's default binder) and type (kafka, rabbit, ...).
	BinderName string `json:"binderName"`
	BinderType string `json:"binderType"`
	// Destination is Name again: streambind's field before it took SCSt's
	// shape, kept for its readers.
	Destination string `json:"destination"`
	// Dynamic is true for the send bridge's producer of a dynamic
	// destination (see [stream.Binding.Dynamic]): listed while the bridge
	// caches it; its state cannot be changed here.
	Dynamic bool `json:"dynamic,omitempty"`
	// Counters are the binding's counters under their Prometheus names
	// ("streambind_binding_messages_received_total"): each is the value
	// GET /metrics serves for this binding, from the same definition.
	// Input-only counters are absent for output bindings, and output-only
	// ones (streambind_binding_duplicate_sends_total) for input bindings,
	// as in /metrics.
	Counters map[string]int64 `json:"counters"`
	// LabeledCounters are the binding's counters that /metrics serves as
	// several series, told apart by labels beyond binding, destination,
	// group and binder: by Prometheus name, each series with those labels
	// and its value, levels in the order of retry-delays. Today one:
	// streambind_binding_delayed_retries_total, a series per level of an
	// input binding's consumer.retry-delays (labels level and delay);
	// absent without retry-delays.
	LabeledCounters map[string][]Series `json:"labeledCounters,omitempty"`
	// HandlerDuration is the histogram of
	// streambind_binding_handler_duration_seconds, for input bindings.
	HandlerDuration *Histogram `json:"handlerDuration,omitempty"`
	// InFlight and OldestInFlightSeconds are the gauges
	// streambind_binding_messages_in_flight and
	// streambind_binding_oldest_in_flight_seconds, for input bindings.
	InFlight              *int64   `json:"inFlight,omitempty"`
	OldestInFlightSeconds *float64 `json:"oldestInFlightSeconds,omitempty"`
}

// Series is one series of a labelled counter: its labels beyond binding,
// destination, group and binder (as in /metrics) and its value.
type Series struct {
	Labels map[string]string `json:"labels"`
	Value  int64             `json:"value"`
}

// Histogram is a Prometheus histogram in JSON: every bucket with its upper
// bound.
type Histogram struct {
	// Count is the number of observations, SumSeconds their sum.
	Count      int64   `json:"count"`
	SumSeconds float64 `json:"sumSeconds"`
	// Buckets are cumulative, as in Prometheus: Buckets[i].Count
	// observations took at most Buckets[i].LE seconds (the +Inf bucket is
	// Count).
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one bucket of a [Histogram].
type Bucket struct {
	LE    float64 `json:"le"`
	Count int64   `json:"count"`
}

// The states of a [BindingView], SCSt's DefaultBinding.getState: a
// binding's [stream.State] in SCSt's words.
const (
	BindingRunning = "running"
	BindingStopped = "stopped"
	BindingPaused  = "paused"
)

// scstState is st as SCSt writes it (STARTED is running).
func scstState(st stream.State) string {
	switch st {
	case stream.StateStarted:
		return BindingRunning
	case stream.StatePaused:
		return BindingPaused
	}
	return BindingStopped
}

func view(b *stream.Binding) BindingView {
	st := b.Stats() // one snapshot for every number of the view
	state := b.State()
	v := BindingView{BindingName: b.Name(), Name: b.Destination(), Pausable: !b.Dynamic(), State: scstState(state),
		Paused: state == stream.StatePaused, Input: b.IsInput(), BinderName: b.Binder(), BinderType: b.BinderType(),
		Destination: b.Destination(), Dynamic: b.Dynamic(), Counters: counters(b, st)}
	if g := b.Group(); g != "" {
		v.Group = &g
	}
	for _, lc := range labeledCounters(b, st) {
		if v.LabeledCounters == nil {
			v.LabeledCounters = map[string][]Series{}
		}
		labels := make(map[string]string, len(lc.labels))
		for i, l := range lc.labels {
			labels[l] = lc.values[i]
		}
		v.LabeledCounters[lc.name] = append(v.LabeledCounters[lc.name], Series{Labels: labels, Value: lc.value})
	}
	if b.IsInput() {
		h := &Histogram{Count: st.HandlerCalls, SumSeconds: st.HandlerTime.Seconds(), Buckets: make([]Bucket, len(stream.HandlerBuckets()))}
		for i, le := range stream.HandlerBuckets() {
			h.Buckets[i] = Bucket{LE: le, Count: st.HandlerBuckets[i]}
		}
		v.HandlerDuration = h
		oldest := st.OldestInFlight.Seconds()
		v.InFlight, v.OldestInFlightSeconds = &st.InFlight, &oldest
	}
	return v
}

func (s *Server) functions(w http.ResponseWriter, _ *http.Request) {
	fns := s.app.Functions()
	if fns == nil {
		fns = []stream.FunctionInfo{}
	}
	writeJSON(w, http.StatusOK, fns)
}

func (s *Server) topology(w http.ResponseWriter, _ *http.Request) {
	spec := topology.FromApp(s.app, s.serviceName())
	if len(s.opts.Profiles) > 0 {
		spec.Profiles = slices.Clone(s.opts.Profiles)
	}
	writeJSON(w, http.StatusOK, topology.Build([]topology.ServiceSpec{spec}))
}

// serviceName is Options.Service, else spring.application.name, else "app".
func (s *Server) serviceName() string {
	if s.opts.Service != "" {
		return s.opts.Service
	}
	if spring, ok := s.opts.Effective["spring"].(map[string]any); ok {
		if app, ok := spring["application"].(map[string]any); ok {
			if n, ok := app["name"].(string); ok && n != "" {
				return n
			}
		}
	}
	return "app"
}

// bindings returns the app's bindings, then the send bridge's dynamic
// ones.
func bindings(app *stream.App) []*stream.Binding {
	bs := app.Bindings()
	if br := app.Bridge(); br != nil {
		bs = append(bs, br.Bindings()...)
	}
	return bs
}

// dynamicBinding returns the send bridge's binding of a dynamic destination
// named name (case kept first, then ignoring case), or nil.
func dynamicBinding(app *stream.App, name string) *stream.Binding {
	br := app.Bridge()
	if br == nil {
		return nil
	}
	var folded *stream.Binding
	for _, b := range br.Bindings() {
		if b.Name() == name {
			return b
		}
		if folded == nil && strings.EqualFold(b.Name(), name) {
			folded = b
		}
	}
	return folded
}

func (s *Server) listBindings(w http.ResponseWriter, _ *http.Request) {
	bs := bindings(s.app)
	out := make([]BindingView, 0, len(bs))
	for _, b := range bs {
		out = append(out, view(b))
	}
	writeJSON(w, http.StatusOK, out)
}

// lookup returns the binding named by the request's path (case kept
// first, then ignoring case), or nil.
func (s *Server) lookup(r *http.Request) *stream.Binding {
	name := r.PathValue("name")
	if b := s.app.Binding(name); b != nil {
		return b
	}
	return dynamicBinding(s.app, name)
}

// getBinding is SCSt's queryState: a list, of the one binding of that
// name, or empty (200 []) when there is none, as SCSt answers.
func (s *Server) getBinding(w http.ResponseWriter, r *http.Request) {
	out := []BindingView{}
	if b := s.lookup(r); b != nil {
		out = append(out, view(b))
	}
	writeJSON(w, http.StatusOK, out)
}

// stateBody is what the body of POST /actuator/bindings/{name} must be.
const stateBody = `body must be exactly one JSON object {"state":"STOPPED|STARTED|PAUSED|RESUMED"}`

// decodeState reads the body of POST /actuator/bindings/{name}: exactly one
// JSON object holding exactly one string field "state" (matched without
// regard to case, as encoding/json matches fields), and nothing after it.
func decodeState(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", fmt.Errorf("got %s, not an object", describe(tok))
	}
	var state *string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		key, _ := tok.(string)
		if !strings.EqualFold(key, "state") {
			return "", fmt.Errorf("unknown field %q", key)
		}
		if state != nil {
			return "", errors.New(`field "state" given twice`)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return "", fmt.Errorf(`field "state": want a string: %w`, err)
		}
		state = &v
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return "", err
	}
	if tok, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return "", fmt.Errorf("trailing data after the object: %w", err)
		}
		return "", fmt.Errorf("trailing data after the object: %s", describe(tok))
	}
	if state == nil {
		return "", errors.New(`missing field "state"`)
	}
	return *state, nil
}

// describe names a JSON token for an error message without echoing long
// text.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return strconv.Quote(t.String())
	case string:
		return "a string"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", t)
	}
}

// stateChangeTimeout is how long a state change may wait: StateChangeTimeout,
// and at most the write timeout less one second, so that the answer can
// still be written.
func (s *Server) stateChangeTimeout() time.Duration {
	wt := s.opts.WriteTimeout
	limit := wt - time.Second
	if wt <= 2*time.Second {
		limit = wt / 2
	}
	return min(StateChangeTimeout, limit)
}

// setBindingState is SCSt's changeState, a void write operation: 204 No
// Content once the change is made (GET the binding for its state). A name
// that is no binding is a 204 that changes nothing, as SCSt's (it changes
// the state of the bindings of that name: none), logged at WARN.
func (s *Server) setBindingState(w http.ResponseWriter, r *http.Request) {
	b := s.lookup(r)
	if b != nil && b.Dynamic() {
		// The bridge binds it again, started, after an eviction: a state
		// set here would not last.
		writeError(w, http.StatusConflict, fmt.Sprintf("%q is the send bridge's producer of a dynamic destination: its state cannot be changed (configure it as an output binding, stream.output-bindings, to manage it)", b.Name()))
		return
	}
	state, err := decodeState(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: larger than %d bytes", stateBody, MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, stateBody+": "+err.Error())
		return
	}
	var op func(context.Context) error
	switch strings.ToUpper(state) {
	case "STOPPED":
		op = b.Stop
	case "STARTED":
		op = b.Start
	case "PAUSED":
		op = b.Pause
	case "RESUMED":
		op = b.Resume
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown state %q: want STOPPED, STARTED, PAUSED or RESUMED", state))
		return
	}
	if b == nil {
		// After the body's checks, as SCSt reads the state before it
		// looks for the binding.
		s.opts.Logger.Warn("binding state change of no binding: nothing changed", "binding", r.PathValue("name"),
			"requested", strings.ToUpper(state))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// Only a running app's bindings can change state. Before it runs, its
	// bindings have no consumers yet: a STARTED would mark an input
	// STARTED with nothing started, and the app's own start would then
	// find it started and start nothing (bound, never delivered); once it
	// is stopping, its binders are closing or closed.
	if app := s.app.State(); app != "running" {
		why := "the app is starting: binding states can be changed once it runs (GET /health/readiness says \"app\": \"running\")"
		if app == "stopping" {
			why = "the app is shutting down: binding states can no longer be changed"
		} else {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": why, "state": scstState(b.State())})
		return
	}
	// A stop or pause waits for in-flight messages; bound it even when the
	// client set no deadline. Not by the client once it runs: one that
	// gives up (a Ctrl-C, curl's --max-time) ended the wait, and the
	// binder then cancelled the in-flight handlers' context, failing their
	// work. A change queued behind another of the binding waits only as
	// long as its client, so that abandoned ones (a client retrying an
	// impatient POST) do not hold connections until the deadline.
	deadline := time.Now().Add(s.stateChangeTimeout())
	lockCtx, cancelLock := context.WithDeadline(r.Context(), deadline)
	unlock, err := s.lockChange(lockCtx, b)
	cancelLock()
	if err != nil && r.Context().Err() != nil {
		return // the client left before its turn: nothing was changed, no one to tell
	}
	if err == nil {
		defer unlock()
		ctx, cancel := context.WithDeadline(context.WithoutCancel(r.Context()), deadline)
		defer cancel()
		err = op(ctx)
	}
	if err != nil {
		// The binding may have changed all the same (a stop whose
		// in-flight messages did not finish in time is STOPPED; each is
		// acknowledged if its handler finishes while it can be, else
		// redelivered): say what it is now, in the answer and the log.
		now := b.State()
		msg := redact.String(err.Error()) // whatever the server's logger does
		s.opts.Logger.Warn("binding state change failed", "binding", b.Name(), "requested", strings.ToUpper(state),
			"state", now, "error", msg)
		code := http.StatusInternalServerError
		if errors.Is(err, stream.ErrStopping) {
			// The shutdown began after the check above.
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]string{"error": msg, "state": scstState(now)})
		return
	}
	s.opts.Logger.Info("binding state changed", "binding", b.Name(), "state", b.State())
	w.WriteHeader(http.StatusNoContent)
}

// Health is the JSON body of the health endpoints.
type Health struct {
	Status  string                         `json:"status"` // UP or DOWN
	App     string                         `json:"app,omitempty"`
	Binders map[string]stream.BinderHealth `json:"binders,omitempty"`
	// Bindings lists the bindings that report their destination unusable
	// (see [stream.BindingHealthChecker]), with the reason; readiness is
	// DOWN while any is listed.
	Bindings map[string]string `json:"bindings,omitempty"`
}

func (s *Server) liveness(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: "UP", App: s.app.State()})
}

func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	h := s.check(r.Context())
	code := http.StatusOK
	if h.Status != "UP" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// check is what readiness reports: the app's state, every binder's (and
// component's) health and the bindings that report their destination
// unusable, errors redacted; Status is DOWN when any is not as it should.
func (s *Server) check(ctx context.Context) Health {
	h := Health{Status: "UP", App: s.app.State(), Binders: map[string]stream.BinderHealth{}}
	if h.App != "running" {
		h.Status = "DOWN"
	}
	for _, b := range s.app.Health(ctx) {
		if !b.Up {
			h.Status = "DOWN"
		}
		b.Error = redact.String(b.Error)
		h.Binders[b.Name] = b
	}
	for _, b := range s.app.Bindings() {
		if err := b.Health(ctx); err != nil {
			h.Status = "DOWN"
			if h.Bindings == nil {
				h.Bindings = map[string]string{}
			}
			h.Bindings[b.Name()] = redact.String(err.Error())
		}
	}
	return h
}

// ConfigView is the JSON body of GET /actuator/config.
type ConfigView struct {
	// ShowValues is "never" or "always".
	ShowValues ShowValues `json:"showValues"`
	// Properties maps every key path ("stream.bindings.x.group", list
	// items as "a.b[0]") to its value and origin.
	Properties map[string]PropertyView `json:"properties"`
}

// PropertyView is one key of [ConfigView].
type PropertyView struct {
	// Value is the redacted value; absent when ShowValues is never.
	Value any `json:"value,omitempty"`
	// Origin is where the key was set: "application.yaml:12",
	// "env NAME"; absent when unknown.
	Origin string `json:"origin,omitempty"`
}

func (s *Server) config(w http.ResponseWriter, _ *http.Request) {
	tree := map[string]any{}
	if s.opts.Effective != nil {
		tree = s.opts.Effective
	} else {
		// Without the tree, the decoded stream section, round-tripped
		// through JSON so that it redacts like a tree.
		data, err := json.Marshal(s.app.Config())
		var st map[string]any
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		delete(st, "Origins")
		tree["stream"] = st
	}
	show := s.opts.ShowValues
	if show == ShowAlways {
		// Values that placeholders naming secrets filled in (the app's
		// stream.Config.Secrets), also where Effective is Loaded.Raw.
		if cfg := s.app.Config(); cfg != nil {
			if sec, ok := cfg.Secrets.(interface{ Tree(any) any }); ok {
				if t, ok := sec.Tree(tree).(map[string]any); ok {
					tree = t
				}
			}
		}
		tree = redact.Tree(tree).(map[string]any)
	}
	var origins map[string]string
	if cfg := s.app.Config(); cfg != nil {
		origins = cfg.Origins
	}
	out := ConfigView{ShowValues: show, Properties: map[string]PropertyView{}}
	flatten("", tree, func(path string, v any) {
		p := PropertyView{Origin: originOf(origins, path)}
		if show == ShowAlways {
			p.Value = jsonable(v)
		}
		out.Properties[path] = p
	})
	writeJSON(w, http.StatusOK, out)
}

// flatten calls f for every leaf of a tree, with its path: "a.b", list
// items "a.b[0]". An empty map or list is a leaf.
func flatten(path string, v any, f func(path string, v any)) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 && path != "" {
			f(path, t)
		}
		for k, sub := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, sub, f)
		}
	case []any:
		if len(t) == 0 {
			f(path, t)
		}
		for i, sub := range t {
			flatten(path+"["+strconv.Itoa(i)+"]", sub, f)
		}
	default:
		f(path, v)
	}
}

// originOf finds the origin of a key path: its own, else that of the list
// it is an item of.
func originOf(origins map[string]string, path string) string {
	p := strings.ToLower(path)
	for {
		if o, ok := origins[p]; ok {
			return o
		}
		i := strings.LastIndexByte(p, '[')
		if i < 0 || !strings.HasSuffix(p, "]") {
			return ""
		}
		p = p[:i]
	}
}

// writeJSON answers v as JSON with code; a v that cannot be encoded is a
// 500 that says why (it was a 200 with an empty body).
func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code = http.StatusInternalServerError
		data, _ = json.MarshalIndent(map[string]string{"error": redact.String("encoding the answer: " + err.Error())}, "", "  ")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(data, '\n'))
}

// jsonable returns a configuration value as JSON can encode it: a float
// that is not finite (YAML's .inf, -.inf, .nan) as YAML spells it.
func jsonable(v any) any {
	if f, ok := v.(float64); ok {
		switch {
		case math.IsNaN(f):
			return ".nan"
		case math.IsInf(f, 1):
			return ".inf"
		case math.IsInf(f, -1):
			return "-.inf"
		}
	}
	return v
}

// writeError answers {"error": msg}, with the secrets in msg redacted (an
// error may quote a URL or a value).
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": redact.String(msg)})
}
