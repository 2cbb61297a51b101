package config

import "testing"

// A "${" with no closing '}' is no placeholder: Spring Framework 6.2's
// PlaceholderParser.parse ("not a valid placeholder, consume the prefix
// and continue") keeps it as text and reads on, so a later placeholder is
// still resolved; every '{' opens a level a '}' closes
// (nextValidEndPrefix). The loader failed start-up (unterminated
// placeholder "${A" (missing '}')) and left a later placeholder as it was.
func TestPlaceholderUnterminatedIsText(t *testing.T) {
	env := map[string]string{"B": "b"}
	for _, c := range []struct{ in, want string }{
		{"ab${A", "ab${A"},
		{"${A ${B}", "${A b"},
		{"${A:x ${B}", "${A:x b"},
		{"x-${B}-${", "x-b-${"},
		{"${A:{x}}", "{x}"},
		{"${A:{x}", "${A:{x}"},
		{`\${A`, `\${A`},
	} {
		got, probs := expandPlaceholders(c.in, env)
		if got != c.want || len(probs) != 0 {
			t.Errorf("%q: got %q %q, want %q and no problem", c.in, got, probs, c.want)
		}
	}

	dir := writeFiles(t, map[string]string{
		"application.yaml":       "stream:\n  bindings:\n    orders-out-0:\n      destination: ab${A\n",
		"application.properties": "stream.bindings.orders-out-0.group=${A ${B}\nstream.kafka.binder.brokers=h${X,k:9092\n",
	})
	l := mustLoad(t, Options{Dir: dir, Logger: discard, Env: []string{"B=b"}})
	b := l.Stream.Binding("orders-out-0")
	if b.Destination != "ab${A" || b.Group != "${A b" {
		t.Errorf("destination %q, group %q; want ab${A and ${A b", b.Destination, b.Group)
	}
	if got := splitList("h${X,k:9092"); len(got) != 2 || got[0] != "h${X" || got[1] != "k:9092" {
		t.Errorf("splitList(h${X,k:9092) = %q, want [h${X k:9092] (the text's commas)", got)
	}
}
