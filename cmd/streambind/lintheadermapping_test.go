package main

import (
	"strings"
	"testing"
)

// TestLintFunctionHeaderMapping: lint compiles Spring Cloud Function's
// input- and output-header-mapping-expression as the app does at start-up:
// one that does not compile is an error at its key and line; valid ones
// pass without the "ignored" warning they had.
func TestLintFunctionHeaderMapping(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad/application.properties": `spring.cloud.function.definition=echo
spring.cloud.stream.default-binder=memory
spring.cloud.function.configuration.echo.input-header-mapping-expression.tenant=T(x).y()
`,
		"good/application.properties": `spring.cloud.function.definition=echo
spring.cloud.stream.default-binder=memory
spring.cloud.function.configuration.echo.input-header-mapping-expression.spring.cloud.stream.sendto.destination=headers['target']
spring.cloud.function.configuration.echo.output-header-mapping-expression.tenant='acme'
`,
	})
	r := runIn(t, dir, nil, "lint", "bad")
	out := strings.Join(r.lines(), "\n")
	const want = `bad/application.properties:3: spring.cloud.function.configuration.echo.input-header-mapping-expression.tenant: expression "T(x).y()": type reference T(...) is not supported`
	if r.code == exitOK || !strings.Contains(out, want) {
		t.Errorf("lint bad: exit %d, want an error %q:\n%s", r.code, want, out)
	}
	r = runIn(t, dir, nil, "lint", "good")
	if out := strings.Join(r.lines(), "\n"); r.code != exitOK || strings.Contains(out, "ignored") || strings.Contains(out, "header-mapping") {
		t.Errorf("lint good: exit %d:\n%s", r.code, out)
	}
}
