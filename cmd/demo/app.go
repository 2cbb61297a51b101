package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/streambind/streambind/binder/memory"
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
	cfg, err := config.Load(config.Options{File: o.configFile, Profiles: profiles})
	if err != nil {
		return nil, nil, err
	}
	fns := stream.NewCatalog()
	s.register(fns)
	app, err := stream.NewApp(cfg.Stream, fns,
		stream.WithLogger(o.log),
		stream.WithBinderType(memory.Type, memory.New),
		stream.WithoutSignals(), // main handles them, to print the report
	)
	if err != nil {
		return nil, nil, err
	}
	return app, func() {}, nil
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
