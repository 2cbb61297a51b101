package main

import (
	"strings"
	"testing"
)

// destination: ${KAFKA_TOPIC (a '}' forgotten) is the destination
// "${KAFKA_TOPIC", as in Spring; lint says so, at the key's file:line,
// without failing the run.
func TestLintUnclosedPlaceholderWarning(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `spring.cloud.function.definition: process
spring.cloud.stream.bindings.process-in-0:
  destination: ${KAFKA_TOPIC
  group: g
`})
	r := runIn(t, dir, []string{"KAFKA_TOPIC=orders"}, "lint", "svc")
	want := `svc/application.yaml:3: spring.cloud.stream.bindings.process-in-0.destination: warning: the value holds a "${" with no closing '}': "${KAFKA_TOPIC"`
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("lint: exit %d, want 0 and %q:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
}
