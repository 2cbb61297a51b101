package main

import (
	"strings"
	"testing"
)

// TestLintStrictInheritedMaxAttemptsWithRetryDelays: a binding with its
// own retry-delays that inherits stream.default.consumer.max-attempts is
// clean under lint --strict (the default is the other bindings'); it was
// a "does not apply" warning with no way out but dropping the default. A
// max-attempts the binding sets itself is still warned of.
func TestLintStrictInheritedMaxAttemptsWithRetryDelays(t *testing.T) {
	const yaml = `stream:
  default-binder: memory
  function:
    definition: work;other
  default:
    consumer:
      max-attempts: 3
  bindings:
    work-in-0:
      group: g
      consumer:
        retry-delays: 200ms,400ms
    other-in-0:
      group: g
`
	dir := writeFiles(t, map[string]string{
		"inherited/application.yaml": yaml,
		"own/application.yaml":       strings.Replace(yaml, "        retry-delays:", "        max-attempts: 4\n        retry-delays:", 1),
	})
	if r := runIn(t, dir, nil, "lint", "--strict", "inherited"); r.code != exitOK || r.stdout != "" {
		t.Errorf("inherited: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r := runIn(t, dir, nil, "lint", "--strict", "own")
	if r.code != exitFailure || !strings.Contains(r.stdout, "stream.bindings.work-in-0.consumer.max-attempts") {
		t.Errorf("own: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
