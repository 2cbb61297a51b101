package main

import (
	"strings"
	"testing"
)

// A DSN given by a placeholder's default
// (${PG_DSN:postgres://root@127.0.0.1:5432/test}) made "postgres" a
// secret value: config showed consumer.idempotency.store: '******'. Its
// password, when it has one, is still hidden everywhere.
func TestConfigDSNPlaceholderHidesOnlyThePassword(t *testing.T) {
	const yaml = `spring.cloud.function.definition: process
spring.cloud.stream.bindings.process-in-0:
  destination: d
  group: g
  consumer.idempotency:
    store: postgres
    key-expression: headers['id']
idempotency.postgres.dsn: ${PG_DSN:%s}
myapp.copy: ${idempotency.postgres.dsn}
`
	for _, dsn := range []string{
		"postgres://root@127.0.0.1:5432/test?sslmode=disable",
		"postgres://root:hunter2pw@127.0.0.1:5432/test?sslmode=disable",
	} {
		dir := writeFiles(t, map[string]string{"svc/application.yaml": strings.ReplaceAll(yaml, "%s", dsn)})
		r := runIn(t, dir, nil, "config", "svc")
		if !strings.Contains(r.stdout, "store: postgres") || strings.Contains(r.stdout+r.stderr, "hunter2pw") {
			t.Errorf("%s: config: exit %d, want store: postgres and no password:\n%s%s", dsn, r.code, r.stdout, r.stderr)
		}
		r = runIn(t, dir, nil, "lint", "svc")
		if strings.Contains(r.stdout+r.stderr, "hunter2pw") {
			t.Errorf("%s: lint shows the password:\n%s%s", dsn, r.stdout, r.stderr)
		}
	}
}
