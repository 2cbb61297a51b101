package stream_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// A .properties file that renames the bindings of camelCase and composed
// functions (function.bindings[toUpper|addTax-in-0]) and names Java
// exceptions (retryable-exceptions.java.lang.IllegalStateException) starts:
// the renamed bindings are bound under their new names, the functional
// names are not bindings, and the exception names are found.
func TestCamelCaseMapKeysFromProperties(t *testing.T) {
	l, err := config.Load(config.Options{Dir: "../config/testdata/mapkeys-properties", Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fns := stream.NewCatalog()
	id := func(_ context.Context, s string) (string, error) { return s, nil }
	stream.AddFunction(fns, "toUpper", id)
	stream.AddFunction(fns, "addTax", id)
	stream.AddConsumer(fns, "flaky", func(context.Context, string) error { return nil })
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	errIllegal, errIO := errors.New("illegal state"), errors.New("io")
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(),
		stream.WithLogger(discardLogger()),
		stream.WithNamedError("java.lang.IllegalStateException", errIllegal),
		stream.WithNamedError("java.io.UncheckedIOException", errIO))
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	for _, n := range []string{"enrichIn", "enrichOut", "sinkIn", "flaky-in-0"} {
		if app.Binding(n) == nil {
			t.Errorf("no binding %s", n)
		}
	}
	for _, n := range []string{"toUpper|addTax-in-0", "to-upper|add-tax-in-0", "sink-in-0"} {
		if app.Binding(n) != nil {
			t.Errorf("functional name %s is a binding", n)
		}
	}
}
