package stream

import (
	"log/slog"
	"testing"
)

// TestUpstreamInputs: which in-process inputs stop before which at
// shutdown (upstreamInputs): a function's input before the inputs its
// output feeds, through a chain; none within a cycle; none where either
// side is on a wire binder.
func TestUpstreamInputs(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	app := &App{}
	in := func(name, dest, typ string) *Binding {
		b := newBinding(name, true, BindingConfig{Destination: dest, Group: "g"}, typ, typ, log)
		app.bindings = append(app.bindings, b)
		return b
	}
	out := func(name, dest, typ string) *Binding {
		b := newBinding(name, false, BindingConfig{Destination: dest}, typ, typ, log)
		app.bindings = append(app.bindings, b)
		return b
	}
	fn := func(i, o *Binding) { app.funcs = append(app.funcs, &runtimeBinding{in: i, out: o}) }
	const mem = DefaultBinderType

	// a → relay → b → relay2 → c, c consumed by sink, and by audit too
	// (a list of destinations).
	relay, relay2 := in("relay-in-0", "a", mem), in("relay2-in-0", "b", mem)
	sink, audit := in("sink-in-0", "c", mem), in("audit-in-0", "x, c", mem)
	fn(relay, out("relay-out-0", "b", mem))
	fn(relay2, out("relay2-out-0", "c", mem))
	// A cycle: p reads d and writes e, q reads e and writes d.
	p, q := in("p-in-0", "d", mem), in("q-in-0", "e", mem)
	fn(p, out("p-out-0", "e", mem))
	fn(q, out("q-out-0", "d", mem))
	// A wire output feeding an in-process name, and the reverse.
	wire := in("wire-in-0", "f", "kafka")
	fn(in("w1-in-0", "z", mem), out("w1-out-0", "f", "kafka"))
	fn(wire, out("wire-out-0", "g", "kafka"))
	in("g-in-0", "g", mem)

	ups := app.upstreamInputs()
	want := map[*Binding][]*Binding{relay2: {relay}, sink: {relay2}, audit: {relay2}}
	if len(ups) != len(want) {
		t.Errorf("upstreams of %d bindings, want %d: %v", len(ups), len(want), names(ups))
	}
	for b, w := range want {
		if got := ups[b]; len(got) != len(w) || got[0] != w[0] {
			t.Errorf("%s stops after %v, want %v", b.name, names(map[*Binding][]*Binding{b: got}), w[0].name)
		}
	}
}

func names(m map[*Binding][]*Binding) map[string][]string {
	out := map[string][]string{}
	for b, ups := range m {
		for _, u := range ups {
			out[b.name] = append(out[b.name], u.name)
		}
	}
	return out
}
