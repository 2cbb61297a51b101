// Command http-bridge serves POST /orders and sends each order through
// the send bridge (app.Bridge().Send), the way an HTTP handler or a job
// sends from ordinary code; the function shipOrder consumes them.
//
//	cd examples/http-bridge
//	go run .                         # in-process binder, http://127.0.0.1:8080
//	curl -i -d '{"id":"o-1","customerId":"c-1","sku":"widget","quantity":2}' http://127.0.0.1:8080/orders
//	go run . --profile kafka         # the same on Kafka (KAFKA_BROKERS)
//
// The request is answered 202 only once the broker confirmed the order:
// Send returns after the confirm, so an accepted order is not lost. A
// broker that cannot take it, or does not confirm it within --send-timeout
// (default 10s), answers 503, a bad order 400.
//
// Shutdown order matters: on SIGINT/SIGTERM the HTTP server stops taking
// requests and finishes those in flight first, and only then does the app
// stop (its producers flush, its consumers finish), so no request sends to
// a stopped app.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// Order is the body of POST /orders and the message on "orders".
type Order struct {
	ID         string `json:"id"`
	CustomerID string `json:"customerId"`
	SKU        string `json:"sku"`
	Quantity   int    `json:"quantity"`
}

// validate says what is wrong with an order, or nil.
func (o Order) validate() error {
	var missing []string
	for _, f := range [...]struct{ name, v string }{{"id", o.ID}, {"customerId", o.CustomerID}, {"sku", o.SKU}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	case o.Quantity <= 0:
		return fmt.Errorf("quantity must be positive, got %d", o.Quantity)
	}
	return nil
}

// maxBody bounds a request body.
const maxBody = 64 << 10

// defaultSendTimeout bounds the wait for the broker's confirm of one order
// (--send-timeout).
const defaultSendTimeout = 10 * time.Second

// ordersHandler serves POST /orders: it decodes and checks the order and
// sends it to the output binding "orders-out" through the app's bridge,
// waiting at most sendTimeout for the broker's confirm.
func ordersHandler(app *stream.App, log *slog.Logger, sendTimeout time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var o Order
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid order: " + err.Error()})
			return
		}
		if err := o.validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid order: " + err.Error()})
			return
		}
		// Send returns once the broker confirmed the message (or with the
		// error). During an outage a binder retries for as long as ctx
		// lets it, and the request's context ends only when the client
		// goes away (the server's WriteTimeout does not end it): bound the
		// wait, so that the client gets its 503 rather than no answer.
		ctx, cancel := context.WithTimeout(r.Context(), sendTimeout)
		defer cancel()
		if err := app.Bridge().Send(ctx, "orders-out", o); err != nil {
			log.Warn("order not sent", "order", o.ID, "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the order could not be taken now; try again"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"id": o.ID, "status": "accepted"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// shipOrder is the consumer of "orders". It reports each order it ships.
func shipOrder(report func(Order)) func(context.Context, Order) error {
	return func(_ context.Context, o Order) error {
		report(o)
		return nil
	}
}

// catalog registers the service's functions.
func catalog(report func(Order)) *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "shipOrder", shipOrder(report))
	return fns
}

// buildApp builds the app from a loaded configuration, with every binder
// type registered (the configuration picks), logging to w as the logging
// section says; opts come last and win.
func buildApp(loaded *config.Loaded, w io.Writer, report func(Order), opts ...stream.Option) (*stream.App, *slog.Logger, error) {
	tel, err := telemetry.FromConfig(loaded.Raw, loaded.Problem)
	if err != nil {
		return nil, nil, err
	}
	log := telemetry.NewLogger(w, tel.Log)
	opts = append([]stream.Option{
		stream.WithBinderType(memory.Type, memory.New),
		stream.WithBinderType(kafka.Type, kafka.New),
		stream.WithBinderType(rabbit.Type, rabbit.New),
		stream.WithLogger(log),
	}, opts...)
	app, err := stream.NewApp(loaded.Stream, catalog(report), opts...)
	return app, log, err
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process around it: it prints shipped orders to
// stdout and logs to stderr, and returns the exit status (0 after a clean
// shutdown, 1 on failure, 2 on bad usage).
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer, opts ...stream.Option) int {
	fs := flag.NewFlagSet("http-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "HTTP listen address")
	profile := fs.String("profile", "", "profiles to activate, comma-separated (default: STREAM_PROFILES_ACTIVE)")
	dir := fs.String("config-dir", ".", "directory of application.yaml and its profiles")
	sendTimeout := fs.Duration("send-timeout", defaultSendTimeout, "how long a request waits for the broker to confirm its order")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *sendTimeout <= 0 {
		fmt.Fprintf(stderr, "http-bridge: --send-timeout must be positive, got %s\n", *sendTimeout)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "http-bridge: %v\n", err)
		return 1
	}
	var profiles []string // nil: from the environment
	if *profile != "" {
		profiles = strings.Split(*profile, ",")
	}
	loaded, err := config.Load(config.Options{Dir: *dir, Profiles: profiles, Env: env})
	if err != nil {
		return fail(err)
	}
	// Logged by NewApp; if run returns before it (a bad telemetry or
	// other setting, often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(stderr, nil)))
	report := func(o Order) { fmt.Fprintf(stdout, "shipping order %s: %d x %s\n", o.ID, o.Quantity, o.SKU) }
	app, log, err := buildApp(loaded, stderr, report, opts...)
	if err != nil {
		return fail(err)
	}

	// The app runs until the HTTP server has stopped: appCtx is cancelled
	// after the server's shutdown, not by the signal.
	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	appCtx, stopApp := context.WithCancel(context.WithoutCancel(ctx))
	defer stopApp()
	appDone := make(chan error, 1)
	go func() { appDone <- app.Run(appCtx) }()
	select {
	case <-app.Ready():
	case err := <-appDone:
		return fail(err)
	case <-sigCtx.Done():
		stopApp()
		<-appDone
		return 0
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		stopApp()
		<-appDone
		return fail(err)
	}
	srv := &http.Server{Handler: ordersHandler(app, log, *sendTimeout), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()
	log.Info("listening", "url", "http://"+ln.Addr().String()+"/orders")

	status := 0
	select {
	case <-sigCtx.Done():
	case err := <-srvDone:
		log.Error("http server", "error", err)
		status = 1
	case err := <-appDone:
		log.Error("app stopped", "error", err)
		_ = srv.Close()
		return 1
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("http shutdown", "error", err)
		status = 1
	}
	stopApp()
	if err := <-appDone; err != nil {
		log.Error("app shutdown", "error", err)
		status = 1
	}
	return status
}
