package main

import (
	"strings"
	"testing"
)

// TestLintStreamSource: stream.source x (SCSt's output binding of the
// send bridge) with settings under stream.bindings.x-out-0 is clean, as
// the app runs it. With no function definition lint took x-out-0 for the
// output of a function x, which it then bound beside the bridge's x-out-0
// ("two bindings are named x-out-0"). A real duplicate is still reported.
func TestLintStreamSource(t *testing.T) {
	t.Parallel()
	const spring = `spring:
  cloud:
    stream:
      source: x
      bindings:
        x-out-0:
          destination: xd
`
	for _, tc := range []struct {
		name, yaml string
		want       string // a line of the output; "": clean
	}{
		{"no definition", spring, ""},
		{"no definition, another function's bindings", spring + `        work-in-0:
          destination: w
          group: g
`, ""},
		{"a definition", `spring:
  cloud:
    function:
      definition: sink
` + strings.TrimPrefix(spring, "spring:\n  cloud:\n") + `        sink-in-0:
          destination: y
          group: g
`, ""},
		{"stream.output-bindings", `stream:
  output-bindings: x-out-0
  bindings:
    x-out-0:
      destination: xd
`, ""},
		{"stream.input-bindings", `stream:
  input-bindings: audit-in-0
  bindings:
    audit-in-0:
      destination: a
      group: g
`, ""},
		// The app binds x-out-0 twice: as the output of supplier x and as
		// the bridge's.
		{"a function's output too", `spring:
  cloud:
    function:
      definition: x
` + strings.TrimPrefix(spring, "spring:\n  cloud:\n"), "stream.output-bindings: two bindings are named x-out-0: rename one of them"},
		{"listed twice", `stream:
  source: x
  output-bindings: x-out-0
  bindings:
    x-out-0:
      destination: xd
`, "stream.output-bindings: two bindings are named x-out-0: rename one of them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"application.yaml": tc.yaml})
			r := runIn(t, dir, nil, "lint")
			if tc.want == "" {
				if r.code != exitOK || r.stdout != "" || r.stderr != "" {
					t.Errorf("exit status %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
				}
				return
			}
			if r.code != exitFailure || !strings.Contains(r.stdout, tc.want) {
				t.Errorf("exit status %d, stdout %q, stderr %q; want 1 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
}
