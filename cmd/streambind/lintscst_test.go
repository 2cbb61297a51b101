package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The error names of retryable-exceptions are registered in code, as key
// extractors and the error handlers error-handler-definition names are:
// lint takes every name as known and still checks the rest (here: a
// selector expression outside the SpEL subset).
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
          error-handler-definition: auditErrors
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
	if strings.Contains(r.stdout, "retryable-exceptions") || strings.Contains(r.stdout, "error-handler-definition") {
		t.Fatalf("lint refused a retryable-exceptions name or an error-handler-definition:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, `stream.bindings.work-out-0.producer.partition-selector-expression: expression "T(java.lang.Math).abs(hashCode())": type reference T(...) is not supported`) {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// Map keys keep their case: lint and config see the renames of camelCase
// and composed functions (function.bindings, dotted and bracket forms) as
// the app does, and the error names of retryable-exceptions as written.
func TestLintCamelCaseMapKeys(t *testing.T) {
	dir := t.TempDir()
	props := `spring.cloud.function.definition=toUpper|addTax;flaky
spring.cloud.stream.default-binder=memory
spring.cloud.stream.function.bindings[toUpper|addTax-in-0]=enrichIn
spring.cloud.stream.function.bindings.toUpper|addTax-out-0=enrichOut
spring.cloud.stream.bindings.enrichIn.destination=orders
spring.cloud.stream.bindings.enrichOut.destination=enriched
spring.cloud.stream.bindings.flaky-in-0.destination=flaky
spring.cloud.stream.bindings.flaky-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException=true
`
	if err := os.WriteFile(filepath.Join(dir, "application.properties"), []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, nil, "lint", ".")
	if r.code != 0 || strings.Contains(r.stdout, "warning") {
		t.Fatalf("lint: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "config", ".")
	for _, want := range []string{"toUpper|addTax-in-0: enrichIn", "toUpper|addTax-out-0: enrichOut", "    enrichIn:\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 0 || strings.Contains(r.stdout, "to-upper") {
		t.Fatalf("config: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// lint fails, as start-up does, on an unknown key in the section of a
// binder type the bindings do not use, and warns that the section is
// ignored (max-concurrency above concurrency, which a binding on RabbitMQ
// refuses, is not checked: no binder reads the section); the section does
// not make a binding of its own.
func TestLintOtherBinderSections(t *testing.T) {
	r := runIn(t, "../../stream/testdata/other-sections", nil, "lint", ".")
	for _, want := range []string{
		"stream.rabbit.bindings.sink-in-0.consumer.bogus-key: unknown key",
		"stream.rabbit.bindings.sink-in-0: warning: ignored: binding sink-in-0 is on a binder of type memory, which does not read the rabbit binder's properties (as in SCSt)",
		"stream.kafka.bindings.other-out-0.producer.bogus: unknown key",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lint output lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, "max-concurrency") {
		t.Errorf("lint output names max-concurrency")
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	r = runIn(t, "../../stream/testdata/other-sections-valid", nil, "graph", ".")
	if r.code != 0 || strings.Contains(r.stdout, "other-out-0") {
		t.Errorf("graph: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// streambind config shows the Spring Boot connection keys set by the
// environment alone, with their origin, and never the password.
func TestConfigBootKeysFromTheEnvironment(t *testing.T) {
	env := []string{"SPRING_RABBITMQ_HOST=10.1.2.3", "SPRING_RABBITMQ_VIRTUAL_HOST=vh", "SPRING_RABBITMQ_PASSWORD=s3cr3tpw"}
	for _, format := range []string{"yaml", "json"} {
		r := runIn(t, "../../stream/testdata/other-sections-valid", env, "config", "--format", format, ".")
		if r.code != 0 || !strings.Contains(r.stdout, "env SPRING_RABBITMQ_VIRTUAL_HOST") || !strings.Contains(r.stdout, "10.1.2.3") {
			t.Errorf("%s: exit %d, stdout:\n%s\nstderr:\n%s", format, r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "s3cr3tpw") {
			t.Errorf("%s: the password is shown:\n%s\n%s", format, r.stdout, r.stderr)
		}
	}
	r := runIn(t, "../../stream/testdata/other-sections-valid", env, "lint", ".")
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "s3cr3tpw") {
		t.Errorf("lint: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// lint refuses an input binding that is also a function of the
// definition with the app's own message, and only that.
func TestLintInputBindingInDefinition(t *testing.T) {
	r := runIn(t, "../../stream/testdata/input-binding-in-definition", nil, "lint", ".")
	if r.code != 1 || !strings.Contains(r.stdout, "application.yaml:10: spring.cloud.stream.input-bindings: input binding fooin is also a function of stream.function.definition") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// The error names fooin: no warning that it is not bound contradicts it.
	if strings.Contains(r.stdout, "not bound") {
		t.Errorf("the refused binding was also warned unbound:\n%s", r.stdout)
	}
}
