package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestBridgeComposedBindingSpellings: a send through the bridge to a
// composed function's binding reaches that binding under either spelling
// of its name: the docs' functional one (uppercase|reverse-in-0) while the
// configuration names it as SCSt does (uppercasereverse-in-0), and SCSt's
// (uppercasereverse-out-0, what an SCSt service's StreamBridge code sends
// to) while the app names it uppercase|reverse-out-0. Before, the other
// spelling was a dynamic destination: the bridge bound and sent to a new
// destination "uppercase|reverse-in-0" that nobody reads. A name with '|'
// that is no binding is refused, and never becomes a destination.
func TestBridgeComposedBindingSpellings(t *testing.T) {
	cfg := loadYAML(t, `spring:
  cloud:
    function:
      definition: uppercase|reverse
    stream:
      bindings:
        uppercasereverse-in-0:
          destination: words
          group: g
`)
	broker := newBroker(t)
	out := tap(t, broker, "uppercasereverse-out-0")
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "uppercase", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "reverse", func(_ context.Context, s string) (string, error) {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), nil
	})
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("memory", memory.Factory(broker)),
		stream.WithoutSignals(), stream.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	defer func() { _ = r.stop() }()
	ctx := context.Background()
	// The input binding's destination (words), through the broker: the
	// composed function handles it.
	if err := app.Bridge().Send(ctx, "uppercase|reverse-in-0", "abc"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, out); string(m.Payload) != "CBA" {
		t.Errorf("output got %q, want CBA", m.Payload)
	}
	// The output binding, by SCSt's name.
	if err := app.Bridge().Send(ctx, "uppercasereverse-out-0", "direct"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, out); string(m.Payload) != "direct" {
		t.Errorf("output got %q, want direct", m.Payload)
	}
	err = app.Bridge().Send(ctx, "uppercase|revers-in-0", "x")
	if err == nil || !strings.Contains(err.Error(), "never named with '|'") || !strings.Contains(err.Error(), `did you mean "uppercasereverse-in-0"?`) {
		t.Errorf("send to a misspelt composed name: %v", err)
	}
	if d := app.Bridge().DynamicDestinations(); len(d) != 0 {
		t.Errorf("dynamic destinations %v, want none", d)
	}
	if err := r.stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
