package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// "uppercase,reverse;log" was refused (function "uppercase,reverse" is
// not registered). Spring Cloud Function reads ',' as '|'
// (SimpleFunctionRegistry), and SCSt names the bindings after the
// definition with ',' as '|' and the '|' dropped (uppercasereverse-in-0):
// the same composition, the same bindings, running the same way.
func TestCommaComposesAsPipe(t *testing.T) {
	got := make(chan string, 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "uppercase", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "reverse", func(_ context.Context, s string) (string, error) {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), nil
	})
	stream.AddConsumer(fns, "log", func(_ context.Context, s string) error { got <- s; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "uppercase, reverse;log"},
		OutputBindings: "words",
		Bindings: map[string]stream.BindingConfig{
			"words":                  {Destination: "words"},
			"uppercasereverse-in-0":  {Destination: "words", Group: "g"},
			"uppercasereverse-out-0": {Destination: "loud", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"log-in-0":               {Destination: "loud", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	if cfg.Function.Definition != "uppercase, reverse;log" {
		t.Errorf("the caller's Config was changed: definition %q", cfg.Function.Definition)
	}
	if r.app.Binding("uppercasereverse-in-0") == nil || r.app.Binding("uppercasereverse-out-0") == nil {
		var names []string
		for _, b := range r.app.Bindings() {
			names = append(names, b.Name())
		}
		t.Fatalf("bindings %v, want uppercasereverse-in-0 and -out-0", names)
	}
	if err := r.app.Bridge().Send(context.Background(), "words", "abc"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "CBA" {
		t.Errorf("log got %q, want CBA", s)
	}
}

// Bindings named after the parts of a composition written with ','
// (uppercase-in-0, reverse-out-0 for "uppercase,reverse") are warned
// about as for '|', with a note that ';' separates functions.
func TestCommaCompositionPartBindingsNote(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: uppercase,reverse;log\n  bindings:\n"+
		"    uppercase-in-0:\n      destination: words\n    reverse-out-0:\n      destination: loud\n")
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "uppercase", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddFunction(fns, "reverse", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "log", func(context.Context, string) error { return nil })
	var logged strings.Builder
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	for _, want := range []string{
		"configure the composition's binding uppercasereverse-in-0",
		"configure the composition's binding uppercasereverse-out-0",
		`if uppercase and reverse are separate functions, separate them with ';' (\"uppercase;reverse\")`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logged:\n%s\nwant: %s", out, want)
		}
	}
	// Written with '|', no such note.
	cfg = loadYAML(t, "stream:\n  function:\n    definition: uppercase|reverse;log\n  bindings:\n    uppercase-in-0:\n      destination: words\n")
	logged.Reset()
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	if out := logged.String(); !strings.Contains(out, "uppercasereverse-in-0") || strings.Contains(out, "separate them with ';'") {
		t.Errorf("logged:\n%s", out)
	}
}
