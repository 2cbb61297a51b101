package main

import (
	"strings"
	"testing"
)

// TestLintMisspeltBindingSaysDefaults: a configured binding a typo away
// from a bound one with no settings (the trial's bookInvoise-in-0) is a
// warning, as in SCSt (lint exits 0, --strict 1), that says which binding
// was meant and what that one runs on instead; and a binding property
// written in the binder section (stream.rabbit.binder.prefetch) is an
// error that says where it goes, a Spring Boot spelling
// (requested-heartbeat) one with a did-you-mean.
func TestLintMisspeltBindingSaysDefaults(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  default-binder: memory
  function:
    definition: bookInvoice
  bindings:
    bookInvoise-in-0:
      destination: invoices
      group: booking
`})
	want := "application.yaml:6: stream.bindings.bookInvoise-in-0: warning: configured binding not bound: no bound function or output binding has this name; its settings are unused; did you mean bookInvoice-in-0? bookInvoice-in-0 uses defaults: destination bookInvoice-in-0, anonymous group"
	r := runIn(t, dir, nil, "lint", ".")
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("lint: exit %d, want %q in stdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
	if r := runIn(t, dir, nil, "lint", "--strict", "."); r.code != 1 {
		t.Errorf("lint --strict: exit %d, want 1:\n%s", r.code, r.stdout)
	}

	dir = writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: bookInvoice
  rabbit:
    binder:
      prefetch: 10
      requested-heartbeat: 30
`})
	r = runIn(t, dir, nil, "lint", ".")
	for _, want := range []string{
		"application.yaml:6: stream.rabbit.binder.prefetch: not a binder property: prefetch is a consumer property of the rabbit binder: set it under stream.rabbit.bindings.<binding>.consumer.prefetch (or stream.rabbit.default.consumer.prefetch for every binding)\n",
		"application.yaml:7: stream.rabbit.binder.requested-heartbeat: unknown key; did you mean heartbeat?",
	} {
		if r.code != 1 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "accepts uri") {
			t.Errorf("lint: exit %d, want %q (once, without the binder's own unknown key) in stdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
		}
	}
}
