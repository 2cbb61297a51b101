package main

import (
	"strings"
	"testing"
)

// An instance-index out of [0, instance-count) with Kafka's
// auto-rebalance-enabled: false is reported once, by the core's check at
// the key's line; the Kafka binder's check of the fixed assignment said
// it again at the binding's Kafka section.
func TestLintFixedAssignmentIndexOnce(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `spring.cloud.function.definition: reserve
spring.cloud.stream.default-binder: kafka
spring.cloud.stream.bindings.reserve-in-0.destination: orders
spring.cloud.stream.bindings.reserve-in-0.group: inventory
spring.cloud.stream.bindings.reserve-in-0.consumer.instance-index: 2
spring.cloud.stream.bindings.reserve-in-0.consumer.instance-count: 2
spring.cloud.stream.kafka.bindings.reserve-in-0.consumer.autoRebalanceEnabled: false
`})
	r := runIn(t, dir, nil, "lint")
	const want = "application.yaml:5: spring.cloud.stream.bindings.reserve-in-0.consumer.instance-index: must be in [0, instance-count=2), got 2"
	if r.code != exitFailure || !strings.Contains(r.stdout, want) {
		t.Errorf("exit status %d, want %d and %q; stdout:\n%s\nstderr:\n%s", r.code, exitFailure, want, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout, "must be in [0, instance-count=2), got 2"); n != 1 {
		t.Errorf("reported %d times, want once; stdout:\n%s", n, r.stdout)
	}
}
