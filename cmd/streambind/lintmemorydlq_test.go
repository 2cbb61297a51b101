package main

import (
	"fmt"
	"strings"
	"testing"
)

// On the in-process binder a dead letter is kept only by a consumer group
// of the dead-letter destination: with dlq: true and nothing reading it,
// every dead letter is dropped, which graph noted and lint --strict passed
// (a newcomer trial). lint warns at consumer.dlq with graph's words; not
// when a consumer reads the dead letters, nor on a broker's binder, whose
// DLQ keeps them.
func TestLintMemoryDLQUnread(t *testing.T) {
	const svc = `stream:
  function:
    definition: work%s
  default-binder: %s
  bindings:
    work-in-0:
      destination: orders
      group: payment
      consumer:
        dlq: true
%s`
	const reader = `    audit-in-0:
      group: audit
      consumer:
        dead-letters-of: work-in-0
`
	want := "application.yaml:10: stream.bindings.work-in-0.consumer.dlq: warning: is true on the in-process binder, but dead letters of work-in-0 go to error.orders.payment (memory), which no consumer reads"
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(svc, "", "memory", "")})
	r := runIn(t, dir, nil, "lint", "--strict")
	if r.code != exitFailure || !strings.Contains(r.stdout, want) {
		t.Errorf("lint --strict: exit %d, stdout %q; want 1 and %q", r.code, r.stdout, want)
	}
	for name, yaml := range map[string]string{
		"read":     fmt.Sprintf(svc, ";audit", "memory", reader),
		"rabbitmq": fmt.Sprintf(svc, "", "rabbit", ""),
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": yaml})
		if r := runIn(t, dir, nil, "lint", "--strict"); strings.Contains(r.stdout, "which no consumer reads") {
			t.Errorf("%s: lint warned: %q", name, r.stdout)
		}
	}
}
