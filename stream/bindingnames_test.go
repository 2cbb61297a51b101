package stream_test

import (
	"strings"
	"testing"

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
