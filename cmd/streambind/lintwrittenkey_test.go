package main

import (
	"strings"
	"testing"
)

// lint and config name a problem's key as the file wrote it (the
// spring.cloud.stream root, camelCase, a .properties line's key), at its
// file:line, so that an SCSt team finds it in the file; a variable's
// problem names the variable, as before.
func TestLintNamesKeyAsWritten(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"yaml/application.yaml": `spring:
  cloud:
    stream:
      function:
        definition: process
      bindings:
        process-in-0:
          destination: orders
          group: g
          consumer:
            maxAttempts: lots
`,
		"props/application.properties": "spring.cloud.function.definition=process\n" +
			"spring.cloud.stream.bindings.process-in-0.destination=orders\n" +
			"spring.cloud.stream.bindings.process-in-0.group=g\n" +
			"spring.cloud.stream.default.consumer.back_off_multiplier=0.5\n",
	})
	// config, in the service's directory: the problems after the output.
	if r := runIn(t, dir+"/yaml", nil, "config"); r.code != exitFailure ||
		!strings.Contains(r.stderr, `application.yaml:11: spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts: expected an integer, got "lots"`) {
		t.Errorf("config: exit status %d; stderr:\n%s", r.code, r.stderr)
	}
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"lint", "yaml"}, nil, `yaml/application.yaml:11: spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts: expected an integer, got "lots"`},
		{[]string{"lint", "props"}, nil, `props/application.properties:4: spring.cloud.stream.default.consumer.back_off_multiplier: must be at least 1.0, got 0.5`},
		// A finding of lint's own (the services' shared destination).
		{[]string{"lint", "yaml", "props"}, nil, `yaml/application.yaml:8: spring.cloud.stream.bindings.process-in-0.destination: warning: orders is an in-process destination`},
		{[]string{"lint", "props"}, []string{"SPRING_CLOUD_STREAM_DEFAULT_CONSUMER_BACKOFFMULTIPLIER=0.25"},
			`env SPRING_CLOUD_STREAM_DEFAULT_CONSUMER_BACKOFFMULTIPLIER: stream.default.consumer.back-off-multiplier: must be at least 1.0, got 0.25`},
	} {
		r := runIn(t, dir, c.env, c.args...)
		if r.code != exitFailure || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("%v %v: exit status %d, want %d and %q; stdout:\n%s\nstderr:\n%s", c.args, c.env, r.code, exitFailure, c.want, r.stdout, r.stderr)
		}
	}
}
