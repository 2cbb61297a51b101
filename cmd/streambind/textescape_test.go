package main

import (
	"strings"
	"testing"
)

// A key path or value with a line break or an ESC was printed raw by
// lint's text output (and config's problems, graph's labels and notes): a
// YAML key "bogus\n::error file=x::pwned\n" broke the one line a problem
// and put a GitHub workflow command into a CI log, and ESC sequences
// reached the terminal (config breaker trial).
func TestTextOutputEscapesControlCharacters(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": "stream.function.definition: process\n" +
		"stream.bindings.process-in-0:\n" +
		"  destination: \"d\\e[31mred\"\n" +
		"  \"bogus\\n::error file=x::pwned\\n\": 1\n" +
		"  \"esc\\e]0;title\\a\\xff\": 2\n"})
	clean := func(what, out string) {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "::") {
				t.Errorf("%s: a line starts a workflow command: %q", what, l)
			}
		}
		if strings.ContainsAny(out, "\x1b\a\u009b") || !strings.Contains(out, `\x1b`) {
			t.Errorf("%s: control characters not escaped: %q", what, out)
		}
	}
	r := runIn(t, dir, nil, "lint", "svc")
	clean("lint", r.stdout)
	if n := len(r.lines()); n != 2 {
		t.Errorf("lint: %d lines for 2 problems: %q", n, r.stdout)
	}
	if !strings.Contains(r.stdout, `process-in-0.bogus\n::error file=x::pwned\n: unknown key`) {
		t.Errorf("lint: %q", r.stdout)
	}
	r = runIn(t, dir, nil, "config", "svc")
	clean("config's problems", r.stderr)
	for _, format := range []string{"mermaid", "dot"} {
		r = runIn(t, dir, nil, "graph", "--format", format, "svc")
		clean("graph "+format, r.stdout)
		clean("graph "+format+" stderr", r.stderr)
	}
}
