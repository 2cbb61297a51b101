package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

type appOptions struct {
	configFile string
	profiles   string
	// logLevel, when set, overrides logging.level.
	logLevel string
	// management, when set, overrides management.server.address.
	management string
	// purge empties the demo's RabbitMQ queues before the app starts.
	purge  bool
	logOut io.Writer
}

// shopApp is the shop's app with what runs beside it.
type shopApp struct {
	app *stream.App
	// mgmt serves the management endpoints (it listens only if an address
	// is configured).
	mgmt    *management.Server
	log     *slog.Logger
	cleanup func()
}

// buildApp loads the configuration and builds the shop's app with every
// binder type the demo knows, its logger, tracer and management server.
// cleanup releases what the binders' embedded brokers and the tracer hold.
func buildApp(ctx context.Context, s *shop, o appOptions) (*shopApp, error) {
	var profiles []string
	for _, p := range strings.Split(o.profiles, ",") {
		if p = strings.TrimSpace(p); p != "" {
			profiles = append(profiles, p)
		}
	}
	if o.logOut == nil {
		o.logOut = io.Discard
	}
	env := os.Environ()
	var opts []stream.Option
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	fail := func(err error) (*shopApp, error) {
		cleanup()
		return nil, err
	}
	rabbitBinders := &rabbitSetup{}
	for _, setup := range binderSetups(rabbitBinders) {
		o, e, c, err := setup(ctx, profiles, env)
		if err != nil {
			return fail(err)
		}
		opts, env = append(opts, o...), e
		if c != nil {
			cleanups = append(cleanups, c)
		}
	}
	loaded, err := config.Load(config.Options{File: o.configFile, Profiles: profiles, Env: env})
	if err != nil {
		return fail(err)
	}
	tel, err := telemetry.ConfigFrom(loaded.Raw)
	if err != nil {
		return fail(err)
	}
	if o.logLevel != "" {
		if err := tel.Log.Level.UnmarshalText([]byte(o.logLevel)); err != nil {
			return fail(fmt.Errorf("--log-level: %w", err))
		}
	}
	log := telemetry.NewLogger(o.logOut, tel.Log)
	tp, shutdownTracing, err := telemetry.NewTracerProvider(ctx, tel.Tracing)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(sctx); err != nil {
			log.Warn("tracing shutdown", "error", err)
		}
	})
	if tp != nil {
		opts = append(opts, stream.WithTracerProvider(tp))
	}
	mcfg, err := management.ConfigFrom(loaded.Raw)
	if err != nil {
		return fail(err)
	}
	if o.management != "" {
		mcfg.Address = o.management
	}
	fns := stream.NewCatalog()
	s.register(fns)
	opts = append(opts, stream.WithLogger(log), stream.WithoutSignals()) // main handles signals, to print the report
	app, err := stream.NewApp(loaded.Stream, fns, opts...)
	if err != nil {
		return fail(err)
	}
	// NewApp created the binders (without connecting): purge on the
	// brokers they will use, before anything consumes.
	if o.purge {
		report := func(format string, args ...any) { fmt.Fprintf(o.logOut, "demo: "+format+"\n", args...) }
		if err := rabbitBinders.purge(ctx, report); err != nil {
			return fail(err)
		}
	}
	mgmt := management.New(app, management.Options{Config: mcfg, Effective: loaded.Raw, Logger: log})
	return &shopApp{app: app, mgmt: mgmt, log: log, cleanup: cleanup}, nil
}

// printReport writes a table of the bindings' counters.
func printReport(w io.Writer, app *stream.App, elapsed time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "binding\tdestination\tgroup\tprocessed\tretried\tdead-lettered\tsent\tmsgs/s\t")
	secs := elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	for _, b := range app.Bindings() {
		st := b.Stats()
		n := st.Sent
		if b.IsInput() {
			n = st.Processed
		}
		group := b.Group()
		if group == "" {
			group = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%.0f\t\n", b.Name(), b.Destination(), group,
			st.Processed, st.Retried, st.DeadLettered, st.Sent, float64(n)/secs)
	}
	tw.Flush()
}
