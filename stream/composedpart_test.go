package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A configured binding named after a part of a bound composition
// (enrich-in-0 for enrich|reserve) configures nothing: as in SCSt, a
// composition's parts have no bindings of their own. The warning names the
// composition's binding the settings were most likely meant for, in
// SCSt's spelling, rather than listing the bound names only, or (for
// reserve-out-0) saying reserve is not in the function definition.
func TestComposedPartBindingNamesComposition(t *testing.T) {
	for _, c := range []struct{ binding, want string }{
		{"enrich-in-0", "configure the composition's binding enrichreserve-in-0 (SCSt's name; enrich|reserve-in-0 is the same binding)"},
		{"reserve-out-0", "configure the composition's binding enrichreserve-out-0 (SCSt's name; enrich|reserve-out-0 is the same binding)"},
		{"Reserve-In-0", "configure the composition's binding enrichreserve-in-0"},
	} {
		cfg := loadYAML(t, "stream:\n  function:\n    definition: enrich|reserve\n  bindings:\n    "+c.binding+":\n      destination: orders\n")
		fns := stream.NewCatalog()
		stream.AddFunction(fns, "enrich", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
		stream.AddFunction(fns, "reserve", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
		var logged strings.Builder
		opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
		if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
			t.Fatal(err)
		}
		out := logged.String()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, c.want) || strings.Contains(out, "not in stream.function.definition") {
			t.Errorf("%s: logged:\n%s\nwant: %s", c.binding, out, c.want)
		}
	}
	// A function bound alone and inside a composition: its own binding is
	// bound, no warning.
	cfg := loadYAML(t, "stream:\n  function:\n    definition: enrich;enrich|reserve\n  bindings:\n    enrich-in-0:\n      destination: orders\n")
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "enrich", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	stream.AddFunction(fns, "reserve", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	var logged strings.Builder
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logged.String(), "enrich-in-0") && strings.Contains(logged.String(), "not bound") {
		t.Errorf("logged:\n%s", logged.String())
	}
}
