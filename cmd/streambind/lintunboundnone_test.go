package main

import (
	"strings"
	"testing"
)

// TestLintUnboundNothingBound: the warning of a configured binding that
// nothing binds, in an app that binds nothing at all, ends "(bound:
// none)", not "(bound: )" (the compatibility run's c03: SCSt 2 bindings
// input and output of no function).
func TestLintUnboundNothingBound(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yml": `spring:
  cloud:
    stream:
      default-binder: memory
      bindings:
        input:
          destination: demo
          group: q
`})
	r := runIn(t, dir, nil, "lint", ".")
	want := "application.yml:6: spring.cloud.stream.bindings.input: warning: configured binding not bound: no bound function or output binding has this name; its settings are unused (bound: none)"
	if r.code != 0 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "bound: )") {
		t.Fatalf("lint: exit %d, want %q in stdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
}
