package main

import (
	"strings"
	"testing"
)

// TestConfigEmptyValueIsEmptyString: a binder key written with no value
// (SCSt's retry-through-DLQ pattern sets dlqDeadLetterExchange: to give
// the DLQ no dead-letter exchange) is shown as the empty string the
// binder reads, as Spring reads it; config showed null, "not set", which
// for this key means the opposite.
func TestConfigEmptyValueIsEmptyString(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yml": `spring:
  cloud:
    stream:
      default-binder: rabbit
      bindings:
        work-in-0:
          destination: work
          group: g
      rabbit:
        bindings:
          work-in-0:
            consumer:
              dlqDeadLetterExchange:
`})
	r := runIn(t, dir, nil, "config")
	want := `dlq-dead-letter-exchange: "" # application.yml:13`
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("exit %d, want %q in stdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
}

// TestConfigInheritedInstanceOrigin: a binding's consumer.instance-count
// and instance-index inherited from spring.cloud.stream.instance-count /
// instance-index name that key as their origin; config said "default",
// though the value (3) was the file's.
func TestConfigInheritedInstanceOrigin(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yml": `spring:
  cloud:
    function:
      definition: listen
    stream:
      instance-count: 3
      instance-index: 2
      bindings:
        listen-in-0:
          destination: orders
          group: g
          consumer:
            partitioned: true
`})
	r := runIn(t, dir, nil, "config")
	for _, want := range []string{
		"instance-count: 3 # stream.instance-count at application.yml:6",
		"instance-index: 2 # stream.instance-index at application.yml:7",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d, want %q in stdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
		}
	}
}
