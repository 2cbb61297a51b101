package main

import (
	"strings"
	"testing"
)

// config showed the outbox and idempotency sections as configured, with
// none of their defaults (poll-interval, concurrency, send-timeout,
// purge-interval), and a binding's retention: 24h as 86400s. They are
// shown as the stream section is: every setting as the app uses it, with
// its origin, and durations in their largest whole unit.
func TestConfigOutboxIdempotencyDefaults(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `spring.cloud.function.definition: process
spring.cloud.stream.bindings.process-in-0:
  destination: d
  group: g
  consumer.idempotency:
    store: redis
    key-expression: headers['id']
    retention: 24h
outbox:
  dsn: ${PG_DSN:postgres://root:hunter2pw@127.0.0.1:5432/test}
  batchSize: 50
idempotency.postgres.dsn: ${PG_DSN:postgres://root:hunter2pw@127.0.0.1:5432/test}
`})
	r := runIn(t, dir, []string{"OUTBOX_POLL_INTERVAL=1500"}, "config", "svc")
	want := []string{
		"idempotency:",
		"  postgres:",
		"    dsn: '******' # svc/application.yaml:12",
		"    purge-interval: 1m # default",
		"    table: idempotency_marks # default",
		"  redis:",
		"    key-prefix: 'streambind:idempotency:' # default",
		"    lease: 30s # default",
		"outbox:",
		"  batch-size: 50 # svc/application.yaml:11",
		"  concurrency: 100 # default",
		"  dsn: '******' # svc/application.yaml:10",
		"  poll-interval: 1500ms # env OUTBOX_POLL_INTERVAL",
		"  relay: true # default",
		"  send-timeout: 30s # default",
		"  table: outbox # default",
	}
	if r.code != exitOK || !strings.Contains(r.stdout, strings.Join(want, "\n")+"\n") ||
		!strings.Contains(r.stdout, "retention: 24h # svc/application.yaml:8") ||
		strings.Contains(r.stdout, "batchSize") || strings.Contains(r.stdout, "hunter2pw") {
		t.Errorf("config: exit %d, want\n%s\nand retention: 24h, got:\n%s%s", r.code, strings.Join(want, "\n"), r.stdout, r.stderr)
	}

	// Neither section set nor used: not shown.
	dir = writeFiles(t, map[string]string{"svc/application.yaml": `spring.cloud.function.definition: process
spring.cloud.stream.bindings.process-in-0: {destination: d, group: g}
`})
	r = runIn(t, dir, nil, "config", "svc")
	if r.code != exitOK || strings.Contains(r.stdout, "outbox") || strings.Contains(r.stdout, "idempotency") {
		t.Errorf("config: exit %d, want no outbox or idempotency section:\n%s%s", r.code, r.stdout, r.stderr)
	}
}
