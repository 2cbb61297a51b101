package main

import (
	"strings"
	"testing"
)

// TestLintMemoryPartitionedInstances: a partitioned consumer of a named
// group on the in-process binder with instance-count 3 reads a third of
// its destination; the other instances' queues fill up and block every
// send (back-pressure, no log line). lint warns at instance-count, naming
// the binding and what to do; not with partitioned: false, and not for
// instance-count 1.
func TestLintMemoryPartitionedInstances(t *testing.T) {
	const yaml = `stream:
  default-binder: memory
  function:
    definition: audit
  bindings:
    audit-in-0:
      destination: reservations
      group: audit
      consumer:
        partitioned: true
        instance-count: 3
        instance-index: 2
`
	dir := writeFiles(t, map[string]string{
		"three/application.yaml": yaml,
		"off/application.yaml":   strings.Replace(yaml, "partitioned: true", "partitioned: false", 1),
		"one/application.yaml":   strings.Replace(strings.Replace(yaml, "instance-count: 3", "instance-count: 1", 1), "instance-index: 2", "instance-index: 0", 1),
	})
	r := runIn(t, dir, nil, "lint", "--strict", "three")
	if r.code != exitFailure || strings.Count(r.stdout, "\n") != 1 ||
		!strings.Contains(r.stdout, "three/application.yaml:11: stream.bindings.audit-in-0.consumer.instance-count: warning: is 3 on the in-process binder") ||
		!strings.Contains(r.stdout, "set partitioned: false (or instance-count: 1) for the in-process profile") {
		t.Errorf("instance-count 3: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, d := range []string{"off", "one"} {
		if r := runIn(t, dir, nil, "lint", "--strict", d); r.code != exitOK || strings.Contains(r.stdout, "in-process binder") {
			t.Errorf("%s: exit status %d, stdout:\n%s\nstderr:\n%s", d, r.code, r.stdout, r.stderr)
		}
	}
}
