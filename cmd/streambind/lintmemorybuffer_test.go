package main

import (
	"strings"
	"testing"
)

// TestLintMemoryPartitionedInstancesBufferSize: the warning of a
// partitioned consumer with instance-count > 1 on the in-process binder
// says after how many messages each sends block: the binder's
// buffer-size, stream.memory.binder's or the declared binder's
// environment's. It said 1024, the default, whatever was set.
func TestLintMemoryPartitionedInstancesBufferSize(t *testing.T) {
	const yaml = `stream:
  default-binder: memory
  memory:
    binder:
      buffer-size: 10
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
	const env = `stream:
  default-binder: local
  binders:
    local:
      type: memory
      environment:
        buffer-size: 20
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
		"set/application.yaml":     yaml,
		"env/application.yaml":     env,
		"default/application.yaml": strings.Replace(yaml, "  memory:\n    binder:\n      buffer-size: 10\n", "", 1),
	})
	for d, want := range map[string]string{"set": "after buffer-size (10) messages each", "env": "after buffer-size (20) messages each",
		"default": "after buffer-size (1024) messages each"} {
		if r := runIn(t, dir, nil, "lint", d); r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("%s: exit status %d, want %q; stdout:\n%s\nstderr:\n%s", d, r.code, want, r.stdout, r.stderr)
		}
	}
}
