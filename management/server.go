package management

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// StateChangeTimeout bounds a POST /actuator/bindings/{name}: how long a
// stop or pause waits for the messages in flight.
const StateChangeTimeout = 30 * time.Second

// Options configure a [Server].
type Options struct {
	Config
	// Effective is the configuration tree served, redacted, by
	// /actuator/config (config.Loaded.Raw). Nil: the endpoint serves the
	// app's stream section only.
	Effective map[string]any
	// Logger for the server's own lines. Default: discard.
	Logger *slog.Logger
	// Registry to add the app's metrics to. Default: a new registry with
	// the Go and process collectors.
	Registry *prometheus.Registry
}

// Server serves the management endpoints of one app.
type Server struct {
	app  *stream.App
	opts Options
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// New returns a server for app. It listens only once Start is called, and
// only if opts.Address is set.
func New(app *stream.App, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	opts.Registry.MustRegister(&collector{app: app})
	s := &Server{app: app, opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /actuator/bindings", s.listBindings)
	s.mux.HandleFunc("GET /actuator/bindings/{name}", s.getBinding)
	s.mux.HandleFunc("POST /actuator/bindings/{name}", s.setBindingState)
	s.mux.HandleFunc("GET /health/liveness", s.liveness)
	s.mux.HandleFunc("GET /health/readiness", s.readiness)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{ErrorLog: nil}))
	if opts.ConfigEndpoint {
		s.mux.HandleFunc("GET /actuator/config", s.config)
	}
	return s
}

// Handler returns the endpoints as an http.Handler, to mount elsewhere.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on the configured address and serves in the background. It
// does nothing when no address is configured (management is off by default).
func (s *Server) Start() error {
	if s.opts.Address == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Address)
	if err != nil {
		return fmt.Errorf("management: listen on %s: %w", s.opts.Address, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	s.done = make(chan error, 1)
	go func() { s.done <- s.srv.Serve(ln) }()
	s.opts.Logger.Info("management server listening", "address", ln.Addr().String())
	return nil
}

// Addr is the address the server listens on ("" when off).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops the server, waiting for requests in flight (bounded by ctx).
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("management: shutdown: %w", err)
	}
	return nil
}

// BindingView is the JSON form of a binding.
type BindingView struct {
	Name        string              `json:"name"`
	State       stream.State        `json:"state"`
	Input       bool                `json:"input"`
	Binder      string              `json:"binder"`
	BinderType  string              `json:"binderType"`
	Destination string              `json:"destination"`
	Group       string              `json:"group,omitempty"`
	Stats       stream.BindingStats `json:"stats"`
}

func view(b *stream.Binding) BindingView {
	return BindingView{Name: b.Name(), State: b.State(), Input: b.IsInput(), Binder: b.Binder(), BinderType: b.BinderType(),
		Destination: b.Destination(), Group: b.Group(), Stats: b.Stats()}
}

func (s *Server) listBindings(w http.ResponseWriter, _ *http.Request) {
	bs := s.app.Bindings()
	out := make([]BindingView, 0, len(bs))
	for _, b := range bs {
		out = append(out, view(b))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) binding(w http.ResponseWriter, r *http.Request) *stream.Binding {
	name := r.PathValue("name")
	b := s.app.Binding(name)
	if b == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no binding named %q", name))
	}
	return b
}

func (s *Server) getBinding(w http.ResponseWriter, r *http.Request) {
	if b := s.binding(w, r); b != nil {
		writeJSON(w, http.StatusOK, view(b))
	}
}

// stateChange is the body of POST /actuator/bindings/{name}.
type stateChange struct {
	State string `json:"state"`
}

func (s *Server) setBindingState(w http.ResponseWriter, r *http.Request) {
	b := s.binding(w, r)
	if b == nil {
		return
	}
	var body stateChange
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "body must be {\"state\":\"STOPPED|STARTED|PAUSED|RESUMED\"}: "+err.Error())
		return
	}
	var op func(context.Context) error
	switch strings.ToUpper(body.State) {
	case "STOPPED":
		op = b.Stop
	case "STARTED":
		op = b.Start
	case "PAUSED":
		op = b.Pause
	case "RESUMED":
		op = b.Resume
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown state %q: want STOPPED, STARTED, PAUSED or RESUMED", body.State))
		return
	}
	// A stop or pause waits for in-flight messages; bound it even when the
	// client set no deadline.
	ctx, cancel := context.WithTimeout(r.Context(), StateChangeTimeout)
	defer cancel()
	if err := op(ctx); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.opts.Logger.Info("binding state changed", "binding", b.Name(), "state", b.State())
	writeJSON(w, http.StatusOK, view(b))
}

// Health is the JSON body of the health endpoints.
type Health struct {
	Status  string                         `json:"status"` // UP or DOWN
	App     string                         `json:"app,omitempty"`
	Binders map[string]stream.BinderHealth `json:"binders,omitempty"`
}

func (s *Server) liveness(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Health{Status: "UP", App: s.app.State()})
}

func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "UP", App: s.app.State(), Binders: map[string]stream.BinderHealth{}}
	if h.App != "running" {
		h.Status = "DOWN"
	}
	for _, b := range s.app.Health(r.Context()) {
		if !b.Up {
			h.Status = "DOWN"
		}
		b.Error = redact.String(b.Error)
		h.Binders[b.Name] = b
	}
	code := http.StatusOK
	if h.Status != "UP" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (s *Server) config(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Effective != nil {
		writeJSON(w, http.StatusOK, redact.Tree(s.opts.Effective))
		return
	}
	// Without the tree, the decoded stream section, round-tripped through
	// JSON so that it redacts like a tree.
	data, err := json.Marshal(s.app.Config())
	var tree map[string]any
	if err == nil {
		err = json.Unmarshal(data, &tree)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	delete(tree, "Origins")
	writeJSON(w, http.StatusOK, map[string]any{"stream": redact.Tree(tree)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
