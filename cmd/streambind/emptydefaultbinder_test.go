package main

import (
	"strings"
	"testing"
)

// default-binder: ${BINDER:} with BINDER unset was an error; empty is not
// set, as in SCSt: lint passes, and config shows the binder the app takes
// (the one declared), not "" (config breaker trial).
func TestEmptyDefaultBinderLintsAndShows(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `spring.cloud.function.definition: process
spring.cloud.stream:
  default-binder: ${BINDER:}
  binders:
    k1: {type: kafka, environment: {brokers: 127.0.0.1:1}}
  bindings.process-in-0: {destination: d, group: g}
`})
	if r := runIn(t, dir, nil, "lint", "svc"); r.code != exitOK || r.stdout != "" {
		t.Errorf("lint: exit status %d: %s%s", r.code, r.stdout, r.stderr)
	}
	m, r := configEntries(t, dir, nil, "svc")
	if r.code != exitOK {
		t.Errorf("config: exit status %d: %s", r.code, r.stderr)
	}
	if e := m["stream.default-binder"]; e.Value != "k1" || !strings.Contains(e.Origin, "set empty at svc/application.yaml:3, which is not set") {
		t.Errorf("default-binder: %+v", e)
	}
	if e := m["stream.bindings.process-in-0.binder"]; e.Value != "k1" || strings.Contains(e.Origin, "application.yaml") {
		t.Errorf("the binding's binder: %+v", e)
	}
}
