package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The error names of retryable-exceptions are registered in code, as key
// extractors are: lint takes every name as known and still checks the
// rest (here: a selector expression outside the SpEL subset).
func TestLintRetryableExceptionsAndExpressions(t *testing.T) {
	dir := t.TempDir()
	yaml := `spring:
  cloud:
    function:
      definition: work
    stream:
      bindings:
        work-in-0:
          destination: jobs
          group: g
          consumer:
            retryable-exceptions:
              java.lang.IllegalStateException: false
        work-out-0:
          destination: done
          producer:
            partition-key-expression: "headers['id']"
            partition-selector-expression: "T(java.lang.Math).abs(hashCode())"
            partition-count: 2
`
	if err := os.WriteFile(filepath.Join(dir, "application.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, nil, "lint", ".")
	if strings.Contains(r.stdout, "retryable-exceptions") {
		t.Fatalf("lint refused a retryable-exceptions name:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, `stream.bindings.work-out-0.producer.partition-selector-expression: expression "T(java.lang.Math).abs(hashCode())": type reference T(...) is not supported`) {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
