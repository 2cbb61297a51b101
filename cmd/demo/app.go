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
	"github.com/streambind/streambind/stream"
)

type appOptions struct {
	configFile string
	profiles   string
	log        *slog.Logger
}

// buildApp loads the configuration and builds the shop's app with every
// binder type the demo knows. cleanup releases what a binder's embedded
// broker holds (nothing for the in-process binder).
func buildApp(ctx context.Context, s *shop, o appOptions) (*stream.App, func(), error) {
	var profiles []string
	for _, p := range strings.Split(o.profiles, ",") {
		if p = strings.TrimSpace(p); p != "" {
			profiles = append(profiles, p)
		}
	}
	env := os.Environ()
	opts := []stream.Option{
		stream.WithLogger(o.log),
		stream.WithoutSignals(), // main handles them, to print the report
	}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	for _, setup := range binderSetups() {
		o, e, c, err := setup(ctx, profiles, env)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		opts, env = append(opts, o...), e
		if c != nil {
			cleanups = append(cleanups, c)
		}
	}
	cfg, err := config.Load(config.Options{File: o.configFile, Profiles: profiles, Env: env})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	fns := stream.NewCatalog()
	s.register(fns)
	app, err := stream.NewApp(cfg.Stream, fns, opts...)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return app, cleanup, nil
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
