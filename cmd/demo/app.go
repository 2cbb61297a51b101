package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
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
	// purge empties the demo's queues and streams before the app starts.
	purge  bool
	logOut io.Writer
	// args are Spring Boot's command-line options for the configuration
	// (--name=value, given after "--": demo -orders 10 --
	// --spring.cloud.stream.bindings.payment-in-0.group=x); nil: none.
	args []string
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
	if o.logOut == nil {
		o.logOut = io.Discard
	}
	env := os.Environ()
	// The binder setups (the embedded Kafka cluster) and the loader must see
	// the same profiles, whether they come from --profile or the
	// environment.
	profiles, fromFlag := activeProfiles(o.profiles, env)
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
	binders := &binderLog{}
	for _, setup := range binderSetups(binders) {
		o, e, c, err := setup(ctx, profiles, env)
		if err != nil {
			return fail(err)
		}
		opts, env = append(opts, o...), e
		if c != nil {
			cleanups = append(cleanups, c)
		}
	}
	var given []string // nil: the loader reads the environment, naming it in its errors
	if fromFlag {
		given = profiles
	}
	// The demo's profiles choose its binder: a profile it has no file for
	// is a mistake here, not a profile that only switches code.
	// Args: those after "--" only; the demo's own flags are no keys.
	loaded, err := config.Load(config.Options{File: o.configFile, Profiles: given, Env: env, Args: o.args, RequireProfileFiles: true})
	if err != nil {
		return fail(err)
	}
	// Logged by NewApp; if buildApp fails before it (a bad --log-level,
	// a telemetry setting: often the very key a warning names), here.
	defer loaded.LogWarnings(slog.New(slog.NewTextHandler(o.logOut, nil)))
	if !slices.Equal(loaded.Profiles, profiles) {
		return fail(fmt.Errorf("the binders were set up for profiles %q but the configuration loaded %q", profiles, loaded.Profiles))
	}
	tel, err := telemetry.FromConfig(loaded.Raw, loaded.Problem)
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
	mcfg, err := management.FromConfig(loaded.Raw, loaded.Problem)
	if err != nil {
		return fail(err)
	}
	if o.management != "" {
		mcfg.Address = o.management
	}
	fns := stream.NewCatalog()
	s.log = log
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
		if err := purgeBinders(ctx, app, binders, report); err != nil {
			return fail(err)
		}
	}
	mgmt := management.New(app, management.Options{Config: mcfg, Effective: loaded.Redacted(), Logger: log, Profiles: loaded.Profiles})
	return &shopApp{app: app, mgmt: mgmt, log: log, cleanup: cleanup}, nil
}

// activeProfiles returns the profiles to activate: those of --profile
// (flag, a comma list) when it names any, else those of the environment
// exactly as package config reads them — STREAM_PROFILES_ACTIVE when it is
// set (even empty), else SPRING_PROFILES_ACTIVE; the last entry of a name
// in env wins. Blank entries are dropped. fromFlag says which it was.
func activeProfiles(flag string, env []string) (profiles []string, fromFlag bool) {
	profiles = splitList(flag)
	if len(profiles) > 0 {
		return profiles, true
	}
	for _, name := range []string{config.EnvProfiles, config.EnvSpringProfiles} {
		if v, ok := lookupEnv(env, name); ok {
			return splitList(v), false
		}
	}
	return nil, false
}

// splitList splits a comma list, trimming items and dropping blank ones.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// lookupEnv returns the last value of key in env ("K=V" entries) and
// whether it is there at all.
func lookupEnv(env []string, key string) (v string, ok bool) {
	for _, e := range env {
		if k, val, found := strings.Cut(e, "="); found && k == key {
			v, ok = val, true
		}
	}
	return v, ok
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
