package config

import (
	"strings"
	"testing"
)

// SPRING_APPLICATION_JSON is read as Spring Boot reads it: a JSON object
// of keys, validated like a file's, over the files and the other
// variables.
func TestSpringApplicationJSON(t *testing.T) {
	const file = "stream:\n  bindings:\n    x-in-0: { destination: fromfile, group: g }\n  default-binder: memory\n"
	l := mustLoad(t, Options{Data: []byte(file), Env: []string{
		`SPRING_APPLICATION_JSON={"spring":{"cloud":{"stream":{"bindings":{"x-in-0":{"destination":"fromjson","consumer":{"maxAttempts":7}}}}}},"myapp.hosts":["a","b"]}`,
		"STREAM_BINDINGS_X_IN_0_DESTINATION=fromenv",
	}})
	b := l.Stream.Bindings["x-in-0"]
	if b.Destination != "fromjson" || b.Group != "g" || b.Consumer.MaxAttempts != 7 {
		t.Errorf("x-in-0 = %+v", b)
	}
	for key, want := range map[string]string{
		"stream.bindings.x-in-0.destination":           "env SPRING_APPLICATION_JSON",
		"stream.bindings.x-in-0.consumer.max-attempts": "env SPRING_APPLICATION_JSON",
		"stream.bindings.x-in-0.group":                 "application.yaml:3",
	} {
		if got := l.Stream.Origins[key]; got != want {
			t.Errorf("origin of %s = %q, want %q", key, got, want)
		}
	}
	if hosts := l.Raw["myapp"].(map[string]any)["hosts"]; len(hosts.([]any)) != 2 {
		t.Errorf("myapp.hosts = %v", hosts)
	}

	for _, tc := range []struct{ name, json, want string }{
		{"an unknown key", `{"stream":{"bindings":{"x-in-0":{"destinaton":"x"}}}}`,
			"stream.bindings.x-in-0.destinaton (env SPRING_APPLICATION_JSON): unknown key; did you mean destination?"},
		{"a bad value", `{"stream":{"default":{"consumer":{"max-attempts":"lots"}}}}`,
			`stream.default.consumer.max-attempts (env SPRING_APPLICATION_JSON): expected an integer, got "lots"`},
		{"not JSON", `{"stream":`, "env SPRING_APPLICATION_JSON: not valid JSON"},
		{"not an object", `["stream"]`, "env SPRING_APPLICATION_JSON: want a JSON object of keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(file), Env: []string{"SPRING_APPLICATION_JSON=" + tc.json}})
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got %v\nwant one problem starting %q", es, tc.want)
			}
		})
	}
}
