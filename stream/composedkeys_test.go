package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A composed function's binding configured under both its names, SCSt's
// (abc-in-0) and the functional one (a|b|c-in-0), is an error at SCSt's
// key naming the other one and its line, in stream.bindings and in a
// binder-specific section: abc-in-0's settings (its group) were dropped,
// with a warning that abc-in-0 was not bound.
func TestComposedBindingConfiguredUnderBothNames(t *testing.T) {
	fns := stream.NewCatalog()
	id := func(_ context.Context, s string) (string, error) { return s, nil }
	stream.AddFunction(fns, "a", id)
	stream.AddFunction(fns, "b", id)
	stream.AddConsumer(fns, "c", func(context.Context, string) error { return nil })
	for _, tc := range []struct{ yaml, path, origin, other string }{
		{`stream:
  function: {definition: a|b|c}
  bindings:
    abc-in-0: {group: g1}
    "a|b|c-in-0": {destination: d1}
`, "stream.bindings.abc-in-0", "application.yaml:4", "stream.bindings.a|b|c-in-0 (application.yaml:5)"},
		{`stream:
  function: {definition: a|b|c}
  memory:
    bindings:
      "a|b|c-in-0": {consumer: {}}
      abc-in-0: {consumer: {}}
`, "stream.memory.bindings.abc-in-0", "application.yaml:6", "stream.memory.bindings.a|b|c-in-0 (application.yaml:5)"},
	} {
		var logged syncbuf.Buffer
		opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
		_, err := stream.NewApp(loadYAML(t, tc.yaml), fns, opts...)
		var es stream.ConfigErrors
		if !errors.As(err, &es) || len(es) != 1 || es[0].Path != tc.path || es[0].Origin != tc.origin ||
			!strings.Contains(es[0].Msg, "is set twice") || !strings.Contains(es[0].Msg, tc.other) {
			t.Errorf("NewApp: %v, want one error at %s naming %s", err, tc.path, tc.other)
		}
		if strings.Contains(logged.String(), "configured binding not bound") {
			t.Errorf("warned unbound:\n%s", logged.String())
		}
	}
}
