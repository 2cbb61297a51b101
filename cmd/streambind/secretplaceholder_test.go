package main

import (
	"strings"
	"testing"
)

// A secret that a placeholder put into a key that is not a secret's was
// shown by lint's problems ("got "hunter2"; value from ${DB_PASSWORD}",
// the loader's and the binders') and by config (port: S3cr3t-pw, and
// addresses: localhost:S3cr3t-pw made of it): redaction went by the key
// only (config breaker trial).
func TestSecretPlaceholderValuesNotShown(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `spring.cloud.function.definition: process
spring.rabbitmq.port: ${RABBIT_PASSWORD}
spring.cloud.stream:
  default-binder: rabbit
  bindings.process-in-0: {destination: d, group: g}
  bindings.process-in-0.consumer.max-attempts: "${DB_PASSWORD}"
  rabbit.bindings.process-in-0.consumer.prefetch: ${API_TOKEN}
`})
	env := []string{"DB_PASSWORD=hunter2", "RABBIT_PASSWORD=S3cr3t-pw", "API_TOKEN=tok-abc"}
	leaks := []string{"hunter2", "S3cr3t-pw", "tok-abc"}
	noLeak := func(what, out string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(out, l) {
				t.Errorf("%s shows %q:\n%s", what, l, out)
			}
		}
	}
	r := runIn(t, dir, env, "lint", "svc")
	noLeak("lint", r.stdout+r.stderr)
	for _, want := range []string{
		`max-attempts: expected an integer, got "******"; value from ${DB_PASSWORD}`,
		`prefetch: want a whole number, got "******"; value from ${API_TOKEN}`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lint does not say %q:\n%s", want, r.stdout)
		}
	}
	r = runIn(t, dir, env, "lint", "--format", "github", "svc")
	noLeak("lint --format github", r.stdout+r.stderr)
	r = runIn(t, dir, env, "config", "svc")
	noLeak("config", r.stdout+r.stderr)
	for _, want := range []string{"port: '******'", "addresses: localhost:******", "max-attempts: '******'"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config does not show %q:\n%s", want, r.stdout)
		}
	}
	m, r := configEntries(t, dir, env, "svc")
	noLeak("config --format json", r.stdout+r.stderr)
	if e := m["stream.rabbit.binder.addresses"]; e.Value != "localhost:******" {
		t.Errorf("addresses: %+v", e)
	}
	r = runIn(t, dir, env, "graph", "svc")
	noLeak("graph", r.stdout+r.stderr)
}
