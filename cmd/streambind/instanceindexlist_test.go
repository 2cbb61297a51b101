package main

import (
	"strings"
	"testing"
)

// TestInstanceIndexListCommands: a binding with SCSt's
// consumer.instanceIndexList is taken by the commands that describe it
// (it was refused): config shows the list with its origin, graph labels
// the edge with the indexes and, on RabbitMQ, the queue of each index
// (<destination>.<group>-<index>), once (the app validates a spec per
// index; the edge was drawn once per index), and lint does not warn of an
// in-process partitioned group whose list names every index (this
// process reads every queue).
func TestInstanceIndexListCommands(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"r/application.yml": `spring:
  cloud:
    function:
      definition: listen
    stream:
      default-binder: rabbit
      bindings:
        listen-in-0:
          destination: orders
          group: g
          consumer:
            partitioned: true
            instanceCount: 3
            instanceIndexList: 0,2
`,
		"m/application.yml": `stream:
  default-binder: memory
  function: { definition: listen }
  bindings:
    listen-in-0:
      destination: orders
      group: g
      consumer: { partitioned: true, instance-count: 2, instance-index-list: [1, 0] }
`,
	})
	r := runIn(t, dir, nil, "config", "r")
	if r.code != 0 || !strings.Contains(r.stdout, "instance-index-list:") || !strings.Contains(r.stdout, "application.yml:14") {
		t.Errorf("config: exit %d, want instance-index-list with its origin application.yml:14:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "graph", "r")
	// One edge: the binding, not one per index.
	if r.code != 0 || strings.Count(r.stdout, "queues orders.g-0, orders.g-2<br/>instances 0,2 of 3") != 1 {
		t.Errorf("graph: exit %d, want the queues of indexes 0 and 2 and 'instances 0,2 of 3':\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "lint", "m")
	if strings.Contains(r.stdout+r.stderr, "memory-instances") || strings.Contains(r.stdout+r.stderr, "are read by nobody") {
		t.Errorf("lint warns of the in-process instances though instance-index-list names both:\n%s\n%s", r.stdout, r.stderr)
	}
}
