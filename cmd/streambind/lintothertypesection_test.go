package main

import (
	"strings"
	"testing"
)

// TestLintOtherTypeSectionOfBinding: a Kafka section of a binding on
// RabbitMQ is read by no binder (as in SCSt): lint warns that it is
// ignored instead of failing for ack-mode MANUAL, which only the Kafka
// binder refuses; a key Kafka does not know there is still an error.
func TestLintOtherTypeSectionOfBinding(t *testing.T) {
	const yaml = `spring.cloud:
  function.definition: process
  stream:
    default-binder: rabbit
    bindings:
      process-in-0: { destination: x, group: g }
      process-out-0: { destination: y }
    rabbit.bindings.process-out-0.producer.mandatory: false
    kafka:
      bindings:
        process-in-0:
          consumer:
            ack-mode: MANUAL
`
	dir := writeFiles(t, map[string]string{
		"valid/application.yaml": yaml,
		"typo/application.yaml":  yaml + "            ack-mdoe: RECORD\n",
	})
	r := runIn(t, dir, nil, "lint", "valid")
	if r.code != exitOK || strings.Contains(r.stdout, "MANUAL") ||
		!strings.Contains(r.stdout, "valid/application.yaml:11: spring.cloud.stream.kafka.bindings.process-in-0: warning: ignored: binding process-in-0 is on a binder of type rabbit, which does not read the kafka binder's properties (as in SCSt)") {
		t.Errorf("valid: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "lint", "typo")
	if r.code != exitFailure || !strings.Contains(r.stdout, "typo/application.yaml:14: spring.cloud.stream.kafka.bindings.process-in-0.consumer.ack-mdoe: unknown key; did you mean ack-mode?") {
		t.Errorf("typo: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
