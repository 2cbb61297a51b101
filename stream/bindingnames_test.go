package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// stream.output-bindings may not name a binding twice: not a function's
// binding (input or output), not another output binding in another case.
// Empty items are skipped; a name with a blank is refused.
func TestOutputBindingsOverlapsAreRefused(t *testing.T) {
	for _, tc := range []struct{ outs, want string }{
		{"a-in-0", "two bindings are named a-in-0"},
		{"foo;FOO", "two bindings are named FOO (and foo"},
		{"foo;foo", "two bindings are named foo"},
		{"foo;;bar baz;", `binding name "bar baz" has ' '`},
	} {
		cfg := loadYAML(t, "stream:\n  function:\n    definition: a\n  output-bindings: \""+tc.outs+"\"\n")
		_, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory")...)
		errs := configErrs(t, err)
		if len(errs) != 1 || errs[0].Path != "stream.output-bindings" || errs[0].Origin != "application.yaml:4" ||
			!strings.Contains(errs[0].Msg, tc.want) {
			t.Fatalf("%s: errors %v", tc.outs, errs)
		}
	}
	// stream.source names output bindings too (foo → foo-out-0).
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a\n  source: foo\n  output-bindings: foo-out-0\n")
	_, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory")...)
	if errs := configErrs(t, err); len(errs) != 1 || !strings.Contains(errs[0].Msg, "two bindings are named foo-out-0") {
		t.Fatalf("errors %v", errs)
	}
	cfg = loadYAML(t, "stream:\n  function:\n    definition: a\n  output-bindings: \"foo;;bar;\"\n")
	app, err := stream.NewApp(cfg, twoConsumers(), typesOpts("memory")...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range app.Bindings() {
		names = append(names, b.Name())
	}
	if strings.Join(names, ",") != "foo,bar,a-in-0" {
		t.Fatalf("bindings %v", names)
	}
}

// A bad stream.instance-index is one error, at that key: not once more at
// each binding that inherits it (a consumer key on an output binding the
// user never wrote). A binding's own instance-count it does not fit is
// still an error, at the binding.
func TestInstanceIndexIsOneError(t *testing.T) {
	yaml := "stream:\n  function:\n    definition: up\n  instance-index: 5\n  instance-count: 2\n  bindings:\n    up-in-0: {destination: a, group: g}\n    up-out-0: {destination: b}\n"
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "up", func(_ context.Context, s string) (string, error) { return s, nil })
	_, err := stream.NewApp(loadYAML(t, yaml), fns, typesOpts("memory")...)
	errs := configErrs(t, err)
	if len(errs) != 1 || errs[0].Path != "stream.instance-index" || errs[0].Origin != "application.yaml:4" {
		t.Fatalf("errors %v", errs)
	}
	yaml = "stream:\n  function:\n    definition: up\n  instance-index: 3\n  instance-count: 4\n  bindings:\n    up-in-0: {destination: a, group: g, consumer: {instance-count: 2}}\n    up-out-0: {destination: b}\n"
	_, err = config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	errs = configErrs(t, err)
	if len(errs) != 1 || errs[0].Path != "stream.bindings.up-in-0.consumer.instance-index" {
		t.Fatalf("errors %v", errs)
	}
}

// stream.function.bindings: a new name a binding cannot have is an error
// at the rename; a rename of a binding no bound function has is a warning
// naming the nearest functional binding (SCSt ignores it).
func TestFunctionBindingsRenamesChecked(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "up", func(_ context.Context, s string) (string, error) { return s, nil })
	yaml := "stream:\n  function:\n    definition: up\n    bindings:\n      up-out-0: \"bad name!\"\n      up-in-0: \"a.b/c d\"\n"
	_, err := stream.NewApp(loadYAML(t, yaml), fns, typesOpts("memory")...)
	errs := configErrs(t, err)
	if len(errs) != 2 || errs[0].Path != "stream.function.bindings.up-in-0" || errs[0].Origin != "application.yaml:6" ||
		!strings.Contains(errs[0].Msg, `binding name "a.b/c d" has '/'`) || errs[1].Path != "stream.function.bindings.up-out-0" {
		t.Fatalf("errors %v", errs)
	}
	yaml = "stream:\n  function:\n    definition: up\n    bindings:\n      upp-in-0: input\n      up-out-0: output\n"
	var logged strings.Builder
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(loadYAML(t, yaml), fns, opts...); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "property=stream.function.bindings.upp-in-0") || !strings.Contains(logged.String(), "nearest_bound=up-in-0") ||
		strings.Contains(logged.String(), "stream.function.bindings.up-out-0") {
		t.Errorf("warning: %s", logged.String())
	}
}

// A name that cannot be a binding's, listed in stream.output-bindings, is
// reported at the stream.bindings key that spells it when there is one
// (streambind lint lists the send bridge's configured bindings there), with
// that key's line; it was reported at stream.output-bindings and its line.
func TestInvalidBindingNameReportedAtItsKey(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := loadYAML(t, `stream:
  function: {definition: sink}
  output-bindings: out
  bindings:
    "[bad": {destination: x}
`)
	cfg.OutputBindings += ";[bad" // as streambind lint adds the bridge's bindings
	_, err := stream.NewApp(cfg, fns, typesOpts("memory")...)
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.bindings.[bad" || es[0].Origin != "application.yaml:5" ||
		!strings.Contains(es[0].Msg, `binding name "[bad" has '['`) {
		t.Fatalf("NewApp: %v, want one error at stream.bindings.[bad (application.yaml:5)", err)
	}

	// Listed in stream.output-bindings only, it is reported there.
	cfg = loadYAML(t, `stream:
  function: {definition: sink}
  output-bindings: "out;[bad"
`)
	_, err = stream.NewApp(cfg, fns, typesOpts("memory")...)
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.output-bindings" || es[0].Origin != "application.yaml:3" {
		t.Fatalf("NewApp: %v, want one error at stream.output-bindings (application.yaml:3)", err)
	}
}
