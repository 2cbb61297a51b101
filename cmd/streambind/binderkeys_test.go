package main

import (
	"strings"
	"testing"
)

// An SCSt file with the binder keys inherit-environment and
// default-candidate lints clean, and lint, config and the app agree on
// the default binder: the one declared binder that is a default
// candidate. The inherited secrets stay redacted in config's output.
func TestSCStBinderKeysLintAndConfig(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml": `spring:
  rabbitmq:
    username: app
    password: inherited-s3cret
  cloud:
    function:
      definition: work
    stream:
      binders:
        main:
          type: rabbit
          environment:
            spring.rabbitmq.host: main-host
        audit:
          type: rabbit
          inherit-environment: false
          default-candidate: false
          environment:
            spring.rabbitmq:
              host: audit-host
              password: own-s3cret
      bindings:
        work-in-0: { destination: jobs, group: g }
        work-out-0: { destination: audit, binder: audit }
`,
		"none/application.properties": `spring.cloud.function.definition=work
spring.cloud.stream.binders.audit.type=rabbit
spring.cloud.stream.binders.audit.defaultCandidate=false
spring.cloud.stream.binders.audit.inheritEnvironment=false
spring.cloud.stream.binders.audit.environment.spring.rabbitmq.host=audit-host
spring.cloud.stream.bindings.work-in-0.group=g
spring.cloud.stream.bindings.work-out-0.binder=audit
`,
	})
	r := runIn(t, dir, nil, "lint", "svc")
	if r.code != exitOK {
		t.Fatalf("lint svc: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	m, r := configEntries(t, dir, nil, "svc")
	if r.code != exitOK {
		t.Fatalf("config svc: exit %d (stderr %q)", r.code, r.stderr)
	}
	want := "default (the one binder declared under stream.binders that is a default candidate)"
	if e := m["stream.default-binder"]; e.Value != "main" || e.Origin != want {
		t.Errorf("stream.default-binder = %v (%s), want main (%s)", e.Value, e.Origin, want)
	}
	if e := m["stream.bindings.work-in-0.binder"]; e.Value != "main" {
		t.Errorf("work-in-0 binder = %v (%s), want main", e.Value, e.Origin)
	}
	for _, e := range []string{"stream.binders.audit.inherit-environment", "stream.binders.audit.default-candidate"} {
		if m[e].Value != false {
			t.Errorf("%s = %v (%s), want false", e, m[e].Value, m[e].Origin)
		}
	}
	if e := m["stream.rabbit.binder.username"]; e.Value != "app" || !strings.HasSuffix(e.Origin, "; not for audit (inherit-environment: false)") {
		t.Errorf("stream.rabbit.binder.username = %v (%s), want app, not for audit", e.Value, e.Origin)
	}
	r = runIn(t, dir, nil, "config", "svc")
	if strings.Contains(r.stdout, "s3cret") {
		t.Errorf("config prints a secret:\n%s", r.stdout)
	}

	// No declared binder is a candidate: the app's code decides (the one
	// type it registers that no binder is named after); lint checks the
	// binding with the in-process binder, config shows null.
	if r := runIn(t, dir, nil, "lint", "none"); r.code != exitOK {
		t.Fatalf("lint none: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	m, _ = configEntries(t, dir, nil, "none")
	if e := m["stream.default-binder"]; e.Value != nil || !strings.Contains(e.Origin, "no binder declared under stream.binders is a default candidate") {
		t.Errorf("stream.default-binder = %v (%v)", e.Value, e.Origin)
	}
}
