package main

import (
	"reflect"
	"strings"
	"testing"
)

// streambind config and lint read a YAML file's indexed keys as the
// loader does (config.TestYAMLIndexedKeys): one list from
// required-groups[0], requiredGroups[1] and a flat dotted [2], a gap an
// error at its line. Both refused each key as unknown before.
func TestConfigAndLintYAMLIndexedKeys(t *testing.T) {
	const svc = `spring:
  cloud:
    function:
      definition: work
    stream:
      bindings:
        work-in-0: { destination: jobs, group: workers }
        work-out-0:
          destination: done
          producer:
            required-groups[0]: audit
            requiredGroups[1]: billing
spring.cloud.stream.bindings.work-out-0.producer.required-groups[2]: ledger
`
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml": svc,
		"gap/application.yaml": strings.Replace(svc, "requiredGroups[1]", "requiredGroups[3]", 1),
	})
	m, r := configEntries(t, dir, nil, "svc")
	if r.code != exitOK {
		t.Fatalf("config: exit status %d, stderr %q", r.code, r.stderr)
	}
	e := m["stream.bindings.work-out-0.producer.required-groups"]
	if !reflect.DeepEqual(e.Value, []any{"audit", "billing", "ledger"}) || e.Origin != "svc/application.yaml:11" {
		t.Errorf("required-groups = %v at %q, want [audit billing ledger] at svc/application.yaml:11", e.Value, e.Origin)
	}
	if r := runIn(t, dir, nil, "lint", "svc"); r.code != exitOK || strings.Contains(r.stdout+r.stderr, "unknown key") {
		t.Errorf("lint svc: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	const gap = "gap/application.yaml:13: spring.cloud.stream.bindings.work-out-0.producer.required-groups[2] is set but spring.cloud.stream.bindings.work-out-0.producer.required-groups[1] is not"
	if r := runIn(t, dir, nil, "lint", "gap"); r.code != exitFailure || !strings.Contains(r.stdout+r.stderr, gap) {
		t.Errorf("lint gap: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runIn(t, dir, nil, "config", "gap"); r.code == exitOK || !strings.Contains(r.stdout+r.stderr, gap) {
		t.Errorf("config gap: exit status %d, stderr %q", r.code, r.stderr)
	}
}
