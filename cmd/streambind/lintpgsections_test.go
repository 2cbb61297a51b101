package main

import (
	"strings"
	"testing"
)

// TestLintOutboxIdempotencySections: lint decodes the outbox and
// idempotency sections as the app does (outbox.FromConfig,
// idempotency.FromConfig), without connecting to PostgreSQL: a misspelt
// key or a bad value there is an error at its file:line, as the app
// refuses to start on it. Before, lint --strict passed such files.
func TestLintOutboxIdempotencySections(t *testing.T) {
	const head = `spring.cloud:
  function.definition: process
  stream:
    bindings:
      process-in-0: { destination: x, group: g }
      process-out-0: { destination: y }
`
	const good = `outbox:
  dsn: ${PG_DSN:postgres://app@127.0.0.1:5432/app}
  batch-size: 100
idempotency:
  postgres:
    dsn: ${PG_DSN:postgres://app@127.0.0.1:5432/app}
    table: marks
`
	dir := writeFiles(t, map[string]string{
		"good/application.yaml": head + good,
		"typo/application.yaml": head + `outbox:
  dsn: ${PG_DSN:postgres://app@127.0.0.1:5432/app}
  batch-sise: 100
idempotency:
  postgres:
    dsn: ${PG_DSN:postgres://app@127.0.0.1:5432/app}
    tabel: x
`,
		"value/application.yaml": head + `outbox:
  send-timeout: 1ms
idempotency:
  redis:
    lease: 0
`,
	})
	r := runIn(t, dir, nil, "lint", "--strict", "good")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("good: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// As the app, a section with an unknown key is not validated further.
	for name, wants := range map[string][]string{
		"typo": {
			"typo/application.yaml:9: outbox.batch-sise: unknown key; did you mean batch-size?",
			"typo/application.yaml:13: idempotency.postgres.tabel: unknown key; did you mean table?", // a transposition: one edit (cc15768)
		},
		"value": {
			"value/application.yaml:8: outbox.send-timeout: is 1ms; want at least 100ms",
			"value/application.yaml:11: idempotency.redis.lease: is 0, which reads as \"not set\"",
		},
	} {
		r := runIn(t, dir, nil, "lint", name)
		for _, want := range wants {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: want %q", name, want)
			}
		}
		if r.code != exitFailure || t.Failed() {
			t.Errorf("%s: exit status %d, stdout:\n%s\nstderr:\n%s", name, r.code, r.stdout, r.stderr)
		}
	}
}
