package main

import (
	"strings"
	"testing"
)

// TestLintAnonymousDLQOnce: enable-dlq on a binding without a group on
// Kafka is refused by the binder at start-up, as in SCSt; lint lists it
// once, in the binder's words, not again as its own dlq-anonymous error.
// On RabbitMQ, whose SCSt binder accepts it and sends the failed
// messages to the DLX, it is the app's start-up WARN, once, and lint
// passes: an SCSt file with auto-bind-dlq on an anonymous consumer is not
// an error (it was, before 2026-12-06, which failed such ports' CI).
func TestLintAnonymousDLQOnce(t *testing.T) {
	const yaml = `spring.cloud.function.definition: sink
spring.cloud.stream.default-binder: kafka
spring.cloud.stream.bindings.sink-in-0.destination: orders
spring.cloud.stream.kafka.bindings.sink-in-0.consumer.enable-dlq: true
`
	dir := writeFiles(t, map[string]string{
		"kafka/application.yaml":  yaml,
		"rabbit/application.yaml": strings.NewReplacer("default-binder: kafka", "default-binder: rabbit", "kafka.bindings", "rabbit.bindings", "enable-dlq", "auto-bind-dlq").Replace(yaml),
	})
	r := runIn(t, dir, nil, "lint", "kafka")
	if r.code != exitFailure || strings.Count(r.stdout, "\n") != 1 ||
		!strings.Contains(r.stdout, "kafka/application.yaml:4: stream.bindings.sink-in-0.consumer.dlq: DLQ support is not available for anonymous subscriptions") {
		t.Errorf("kafka: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "lint", "rabbit")
	if r.code != exitOK || strings.Count(r.stdout, "\n") != 1 ||
		!strings.Contains(r.stdout, "rabbit/application.yaml:4: stream.bindings.sink-in-0.consumer.dlq: warning: consumer.dlq on a binding without a group") ||
		!strings.Contains(r.stdout, "goes to the DLX") || strings.Contains(r.stdout, "dropped, not dead-lettered") {
		t.Errorf("rabbit: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
