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
