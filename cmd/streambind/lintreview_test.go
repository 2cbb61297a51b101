package main

import (
	"strings"
	"testing"
)

// TestLintInstanceCountOfTheService: a consumer's instance-count that
// comes from stream.instance-count (SCSt's spring.cloud.stream.instance-count,
// every consumer's default) is reported where that is set; it was
// reported at the binding's line, saying "consumer.instance-count is not
// set: its default applies", while the file sets 4.
func TestLintInstanceCountOfTheService(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"p/application.yaml": `stream:
  default-binder: kafka
  binders:
    kafka:
      type: kafka
  output-bindings: parts-out
  bindings:
    parts-out:
      destination: parts
      producer:
        partition-key-expression: payload.id
        partition-count: 2
`,
		"c/application.yaml": `stream:
  instance-count: 4
  default-binder: kafka
  binders:
    kafka:
      type: kafka
  input-bindings: parts-in
  bindings:
    parts-in:
      destination: parts
      group: g
      consumer:
        partitioned: true
`,
	})
	r := runIn(t, dir, nil, "lint", "p", "c")
	want := "c/application.yaml:2: stream.instance-count: binding parts-in: is 4, but "
	if r.code != exitFailure || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "is not set") {
		t.Errorf("exit status %d, output:\n%s\nwant a line beginning:\n%s\nand no 'is not set'", r.code, r.stdout, want)
	}
}

// TestLintDLQWithoutGroupOnce: dlq on a consumer without a group is one
// problem, lint's error; the app's start-up warning of it (with its
// property) was listed as a warning as well, the same problem twice at
// one line.
func TestLintDLQWithoutGroupOnce(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"application.yaml": `stream:
  default-binder: kafka
  binders:
    kafka:
      type: kafka
  input-bindings: orders-in
  bindings:
    orders-in:
      destination: orders
      consumer:
        dlq: true
`,
	})
	r := runIn(t, dir, nil, "lint", ".")
	if r.code != exitFailure || strings.Count(r.stdout, "stream.bindings.orders-in.consumer.dlq:") != 1 {
		t.Errorf("exit status %d, want 1 and the problem once; output:\n%s", r.code, r.stdout)
	}
}
