package main

import (
	"strings"
	"testing"
)

// TestLintMisspeltInputKeepsConsumerKind: the trial's paymnt-in-0 (for
// the consumer payment) left payment with no binding configured, so lint
// checked it as a function and listed payment-out-0 as bound, an output a
// consumer does not have. A function whose only configured bindings are
// misspelt is checked as the kind they show: a consumer here.
func TestLintMisspeltInputKeepsConsumerKind(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  default-binder: memory
  function:
    definition: inventory;payment
  bindings:
    inventory-in-0:
      destination: orders
      group: inventory
    inventory-out-0:
      destination: stock
    paymnt-in-0:
      destination: stock
      group: payment
`})
	r := runIn(t, dir, nil, "lint", ".")
	want := "bound: inventory-in-0, inventory-out-0, payment-in-0)"
	if r.code != 0 || !strings.Contains(r.stdout, "did you mean payment-in-0?") || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "payment-out-0") {
		t.Fatalf("lint: exit %d, want the did-you-mean and %q, no payment-out-0, in stdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
	// A function with no binding configured at all, misspelt or not, is
	// still checked as one (its kind is unknown).
	dir = writeFiles(t, map[string]string{"application.yaml": `stream:
  default-binder: memory
  function:
    definition: inventory;payment
  bindings:
    inventory-in-0:
      destination: orders
      group: inventory
    billing-in-0:
      group: payment
`})
	r = runIn(t, dir, nil, "lint", ".")
	if !strings.Contains(r.stdout, "payment-in-0, payment-out-0") {
		t.Errorf("lint: want payment-in-0, payment-out-0 bound in stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}
