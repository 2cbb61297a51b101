package config

import (
	"strings"
	"testing"
)

// A YAML list for a key that SCSt types as one string of names
// (destination: [nbx, nby]) was refused with a bare "expected a string,
// got a list", while the docs said lists may be YAML lists. Spring Boot
// binds no list to a String property (SCSt would run with the key unset,
// an input on the destination named after its binding), so it stays
// refused — a file streambind takes works the same in SCSt — and the
// error says what to write. Keys that are lists take both forms.
func TestJoinedStringKeyGivenAList(t *testing.T) {
	for _, tc := range []struct{ yaml, path, want string }{
		{"stream.bindings.f-in-0.destination: [nbx, nby]\n", "stream.bindings.f-in-0.destination", "write destination: nbx,nby"},
		{"spring.cloud.stream.default.destination:\n  - a\n  - b\n", "stream.default.destination", "write destination: a,b"},
		{"spring.cloud.function.definition: [f, g]\n", "stream.function.definition", "write definition: f;g"},
		{"stream.outputBindings: [o1, o2]\n", "stream.output-bindings", "write output-bindings: o1;o2"},
		{"stream.input-bindings: [i1]\n", "stream.input-bindings", "write input-bindings: i1"},
		{"stream.bindings.f-in-0.destination: [a, {x: 1}]\n", "stream.bindings.f-in-0.destination", "an input binding's destinations separated by ','"},
		// An output binding's list is no "a,b" to write: it sends to one.
		{"stream.bindings.f-out-0.destination: [a, b]\n", "stream.bindings.f-out-0.destination", "an output binding sends to one destination"},
	} {
		es := configErrors(t, Options{Data: []byte(tc.yaml), Env: []string{}})
		if len(es) != 1 || es[0].Path != tc.path || !strings.Contains(es[0].Msg, tc.want) || !strings.Contains(es[0].Msg, "Spring Boot binds no YAML list") {
			t.Errorf("%q: %v; want one error at %s saying %q", tc.yaml, es, tc.path, tc.want)
		}
	}
	// A string key that is no list of names keeps the plain message.
	es := configErrors(t, Options{Data: []byte("stream.bindings.f-in-0.group: [a, b]\n"), Env: []string{}})
	if len(es) != 1 || es[0].Msg != "expected a string, got a list" {
		t.Errorf("group: %v", es)
	}
	// The strings, and the keys that are lists, in either form.
	l := mustLoad(t, Options{Data: []byte("stream:\n  bindings:\n    f-in-0:\n      destination: nbx,nby\n    f-out-0:\n      producer:\n        required-groups: [a, b]\n    g-out-0:\n      producer:\n        required-groups: a,b\n"), Env: []string{}, Logger: discard})
	b := l.Stream.Bindings
	if b["f-in-0"].Destination != "nbx,nby" || strings.Join(b["f-out-0"].Producer.RequiredGroups, ";") != "a;b" || strings.Join(b["g-out-0"].Producer.RequiredGroups, ";") != "a;b" {
		t.Errorf("bindings: %+v", b)
	}
}
