package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// A composition's bindings are SCSt's names without the '|' too: "ab" and
// "a|b" (or "a|bc" and "ab|c") in one definition would read and write one
// destination and share its settings. Start-up refuses it, once per
// function, at the definition.
func TestComposedBindingsCollideWithSCStNames(t *testing.T) {
	for def, want := range map[string]string{
		"ab;a|b":    "the bindings ab-in-0 and a|b-in-0 are both SCSt's ab-in-0",
		"a|bc;ab|c": "the bindings a|bc-in-0 and ab|c-in-0 are both SCSt's abc-in-0",
	} {
		fns := stream.NewCatalog()
		for _, n := range []string{"a", "b", "c", "ab", "bc"} {
			stream.AddFunction(fns, n, func(_ context.Context, o Order) (Order, error) { return o, nil })
		}
		cfg := &stream.Config{Function: stream.FunctionConfig{Definition: def}}
		_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
		errs := configErrs(t, err)
		if len(errs) != 1 || errs[0].Path != "stream.function.definition" || !strings.Contains(errs[0].Msg, want) {
			t.Fatalf("%s: errors %v", def, errs)
		}
	}
	// Configured under SCSt's name, the composition's binding took that
	// name: the error was "two bindings are named ab-in-0" at
	// stream.function.bindings, which no file set.
	cfg := loadYAML(t, "stream:\n  function:\n    definition: \"ab;a|b\"\n  bindings:\n    ab-in-0: {group: g}\n")
	fns0 := stream.NewCatalog()
	for _, n := range []string{"a", "b", "ab"} {
		stream.AddFunction(fns0, n, func(_ context.Context, o Order) (Order, error) { return o, nil })
	}
	_, err := stream.NewApp(cfg, fns0, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if errs := configErrs(t, err); len(errs) != 1 || errs[0].Path != "stream.function.definition" ||
		!strings.Contains(errs[0].Msg, "the bindings ab-in-0 and a|b-in-0 are both SCSt's ab-in-0") {
		t.Fatalf("configured: errors %v", errs)
	}
	// Compositions whose SCSt names differ are fine.
	fns := stream.NewCatalog()
	for _, n := range []string{"a", "b"} {
		stream.AddFunction(fns, n, func(_ context.Context, o Order) (Order, error) { return o, nil })
	}
	if _, err := stream.NewApp(&stream.Config{Function: stream.FunctionConfig{Definition: "a|b;b|a"}}, fns,
		stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t))); err != nil {
		t.Fatal(err)
	}
}
