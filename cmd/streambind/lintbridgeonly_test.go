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

// TestLintBridgeOutputBesideBareFunctionOutput: a function of the
// definition whose output has no settings (generate-out-0) beside a
// configured output of no function (producer-out-0): lint warns, naming
// the bare output, since the settings were most likely meant for it (a
// renamed function). After 1c71402 lint said nothing: the binding was
// taken for the send bridge's.
func TestLintBridgeOutputBesideBareFunctionOutput(t *testing.T) {
	dir := t.TempDir()
	yaml := `spring:
  cloud:
    function:
      definition: generate
    stream:
      default-binder: memory
      bindings:
        producer-out-0:
          destination: orders
`
	if err := os.WriteFile(filepath.Join(dir, "application.yml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, nil, "lint", ".")
	if !strings.Contains(r.stdout, "stream.bindings.producer-out-0: warning: configured binding not bound") ||
		!strings.Contains(r.stdout, "unconfigured bound output: generate-out-0") {
		t.Fatalf("lint: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestLintEmptyDefinitionMisspeltBindings: with no function definition, an
// output-only name within two edits of the function with an input
// (ordrs-in-0 beside orders-out-0) is a typo in one of the two names, not
// the send bridge's output: lint still fails "the bindings belong to 2
// functions", as before 1c71402, which took orders-out-0 for the bridge's
// and checked ordrs alone (a warning).
func TestLintEmptyDefinitionMisspeltBindings(t *testing.T) {
	dir := t.TempDir()
	yaml := `spring:
  cloud:
    stream:
      default-binder: memory
      bindings:
        ordrs-in-0:
          destination: orders
          group: g
        orders-out-0:
          destination: processed
`
	if err := os.WriteFile(filepath.Join(dir, "application.yml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, nil, "lint", ".")
	if r.code == 0 || !strings.Contains(r.stdout, "is empty, but the bindings belong to 2 functions (orders, ordrs)") {
		t.Fatalf("lint: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
