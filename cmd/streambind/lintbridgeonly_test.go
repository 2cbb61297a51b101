package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLintEmptyDefinitionBridgeOutput: with no function definition, an
// output binding without a group (output-out-0) may be the send bridge's,
// as in SCSt's kafka-batch sample, whose one Consumer bean sends there
// with StreamBridge: lint takes consumer for the app's only function, as
// the app does, instead of failing "the bindings belong to 2 functions".
// Two functions with inputs are still ambiguous.
func TestLintEmptyDefinitionBridgeOutput(t *testing.T) {
	dir := t.TempDir()
	yaml := `spring:
  cloud:
    stream:
      default-binder: memory
      bindings:
        consumer-in-0:
          destination: batch-in
          group: batch-in
          consumer:
            batch-mode: true
        output-out-0:
          destination: batch-out
`
	if err := os.WriteFile(filepath.Join(dir, "application.yml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, nil, "lint", ".")
	if r.code != 0 || strings.Contains(r.stdout, "is empty, but") {
		t.Fatalf("lint: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	yaml += `        other-in-0:
          destination: more
`
	if err := os.WriteFile(filepath.Join(dir, "application.yml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, dir, nil, "lint", ".")
	if r.code == 0 || !strings.Contains(r.stdout, "is empty, but the bindings belong to 3 functions (consumer, other, output)") {
		t.Fatalf("lint: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
