package main

import (
	"strings"
	"testing"
)

// Kafka's auto-rebalance-enabled: false on an anonymous consumer is
// ignored by the binder (a WARN at bind: it reads every partition, as in
// SCSt): lint warns at the key, so that two instances each reading every
// partition are not found in production. A new-user trial's lint said
// nothing. With a group, no warning.
func TestLintFixedAssignmentAnonymous(t *testing.T) {
	const yaml = `spring.cloud.function.definition: reserve
spring.cloud.stream.default-binder: kafka
spring.cloud.stream.bindings.reserve-in-0.destination: orders
spring.cloud.stream.kafka.bindings.reserve-in-0.consumer.autoRebalanceEnabled: false
`
	dir := writeFiles(t, map[string]string{
		"anon/application.yaml":  yaml,
		"group/application.yaml": yaml + "spring.cloud.stream.bindings.reserve-in-0.group: inventory\n",
	})
	r := runIn(t, dir, nil, "lint", "anon")
	if r.code != 0 || !strings.Contains(r.stdout, "anon/application.yaml:4: stream.kafka.bindings.reserve-in-0.consumer.auto-rebalance-enabled: warning: auto-rebalance-enabled: false is ignored for an anonymous consumer") {
		t.Errorf("anonymous: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "lint", "--strict", "anon")
	if r.code != exitFailure {
		t.Errorf("anonymous, --strict: exit status %d, want %d", r.code, exitFailure)
	}
	r = runIn(t, dir, nil, "lint", "--strict", "group")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("with a group: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
