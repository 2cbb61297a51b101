package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

// The bindings of a composed function answer to SCSt's names for them
// (toUpperaddTax-in-0, without the '|'): configured or renamed under that
// name, they bind the composed function, and messages flow.
func TestComposedBindingsUnderSCStNames(t *testing.T) {
	l, err := config.Load(config.Options{Dir: "testdata/scst-composed", Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "toUpper", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "addTax", func(_ context.Context, s string) (string, error) { return s + "+tax", nil })
	stream.AddFunction(fns, "sink", func(_ context.Context, s string) (string, error) { return s, nil })
	got := make(chan string, 1)
	stream.AddConsumer(fns, "log", func(_ context.Context, s string) error { got <- s; return nil })
	broker := newBroker(t)
	r := startOn(t, broker, l.Stream, fns, discardLogger())
	defer func() { _ = r.stop() }()
	for _, n := range []string{"toUpperaddTax-in-0", "toUpperaddTax-out-0", "sinkIn"} {
		if r.app.Binding(n) == nil {
			t.Errorf("no binding %s (bindings: %v)", n, bindingNamesOf(r.app))
		}
	}
	if b := r.app.Binding("toUpperaddTax-in-0"); b != nil && (b.Destination() != "orders" || b.Group() != "enrich") {
		t.Errorf("toUpperaddTax-in-0: destination %s group %s", b.Destination(), b.Group())
	}
	if err := r.app.Bridge().Send(context.Background(), "orders", "abc"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "ABC+tax" {
			t.Errorf("got %q, want ABC+tax", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message at sink|log")
	}
}

func bindingNamesOf(app *stream.App) []string {
	var out []string
	for _, b := range app.Bindings() {
		out = append(out, b.Name())
	}
	return out
}

// A composed function's binding without a destination uses SCSt's name of
// the binding as its destination (toUpperaddTax-in-0, without the '|'), as
// SCSt does: the '|' is no valid Kafka topic character, and on RabbitMQ
// an SCSt service of the same definition declares the exchange without it.
func TestComposedBindingDefaultDestinationIsSCStName(t *testing.T) {
	l, err := config.Load(config.Options{Data: []byte("stream.function.definition: toUpper|addTax\n"), Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "toUpper", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "addTax", func(_ context.Context, s string) (string, error) { return s + "+tax", nil })
	r := startOn(t, newBroker(t), l.Stream, fns, discardLogger())
	defer func() { _ = r.stop() }()
	got := map[string]string{}
	for _, b := range r.app.Bindings() {
		got[b.Name()] = b.Destination()
	}
	want := map[string]string{"toUpper|addTax-in-0": "toUpperaddTax-in-0", "toUpper|addTax-out-0": "toUpperaddTax-out-0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bindings → destinations %v, want %v", got, want)
	}
}
