package main

import (
	"strings"
	"testing"
)

// TestLintCommaDefinition: lint of "uppercase,reverse;log" printed
// "functions: function name \"uppercase,reverse\": must be non-empty
// without ';', '|' or ','" (no line) and "not registered (registered:
// log)" (lint has no registry). Spring Cloud Function reads ',' as '|':
// the file, with SCSt's binding names (uppercasereverse-in-0), lints
// clean; bindings named after the parts are warned about as for '|',
// with a note that ';' separates functions.
func TestLintCommaDefinition(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.properties": `spring.cloud.function.definition=uppercase,reverse;log
spring.cloud.stream.default-binder=memory
spring.cloud.stream.bindings.uppercasereverse-in-0.destination=words
spring.cloud.stream.bindings.uppercasereverse-in-0.group=g
spring.cloud.stream.bindings.uppercasereverse-out-0.destination=loud
spring.cloud.stream.bindings.log-in-0.destination=loud
spring.cloud.stream.bindings.log-in-0.group=g
`})
	r := runIn(t, dir, nil, "lint", "--strict", ".")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("lint --strict: exit %d, want 0 and nothing:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	dir = writeFiles(t, map[string]string{"application.properties": `spring.cloud.function.definition=uppercase,reverse;log
spring.cloud.stream.default-binder=memory
spring.cloud.stream.bindings.uppercase-in-0.destination=words
spring.cloud.stream.bindings.reverse-out-0.destination=loud
spring.cloud.stream.bindings.log-in-0.destination=loud
`})
	r = runIn(t, dir, nil, "lint", ".")
	for _, want := range []string{
		"application.properties:3: spring.cloud.stream.bindings.uppercase-in-0: warning: configured binding not bound: it is named after a function that runs only inside a composition",
		"application.properties:4: spring.cloud.stream.bindings.reverse-out-0: warning: configured binding not bound",
		`if uppercase and reverse are separate functions, separate them with ';' ("uppercase;reverse")`,
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("lint: exit %d, want %q in stdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
		}
	}
	for _, not := range []string{"functions:", "not registered", "must be non-empty"} {
		if strings.Contains(r.stdout, not) {
			t.Errorf("lint: %q in stdout:\n%s", not, r.stdout)
		}
	}
}
