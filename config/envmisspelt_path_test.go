package config

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A misspelt variable beside a file that sets the key it meant is
// reported at the key the variable spells, the binding's name as the
// file writes it (handleOrder-in-0), not at the key it meant: there the
// problem was taken for one of the file's value, and gained the file's
// "value from ${ENV_PREFIX}", which the variable's plain x did not come
// from.
func TestMisspeltEnvReportedAtItsOwnKey(t *testing.T) {
	data := []byte("spring.cloud.function.definition: handleOrder\n" +
		"spring.cloud.stream.bindings.handleOrder-in-0.destination: ${ENV_PREFIX}-orders\n" +
		"spring.cloud.stream.bindings.handleOrder-in-0.consumer.max-attempts: ${ATTEMPTS:3}\n")
	cases := []struct{ env, path, msg string }{
		{"SPRING_CLOUD_STREAM_BINDINGS_HANDLEORDER_IN_0_DESTINATON=x", "stream.bindings.handleOrder-in-0.destinaton",
			"SPRING_CLOUD_STREAM_BINDINGS_HANDLEORDER_IN_0_DESTINATON matches no configuration key; did you mean SPRING_CLOUD_STREAM_BINDINGS_HANDLEORDER_IN_0_DESTINATION?"},
		{"STREAM_BINDINGS_HANDLEORDER_IN_0_CONSUMER_MAX_ATEMPTS=5", "stream.bindings.handleOrder-in-0.consumer.max-atempts",
			"STREAM_BINDINGS_HANDLEORDER_IN_0_CONSUMER_MAX_ATEMPTS matches no configuration key; did you mean STREAM_BINDINGS_HANDLEORDER_IN_0_CONSUMER_MAX_ATTEMPTS?"},
		{"STREAM_BINDINGS_HANDLEORDER_IN_0_CONSUMR_MAX_ATTEMPTS=5", "stream.bindings.handleOrder-in-0.consumr.max-attempts",
			"STREAM_BINDINGS_HANDLEORDER_IN_0_CONSUMR_MAX_ATTEMPTS matches no configuration key; did you mean STREAM_BINDINGS_HANDLEORDER_IN_0_CONSUMER_MAX_ATTEMPTS?"},
	}
	for _, c := range cases {
		_, err := Load(Options{Data: data, Logger: discard, Env: []string{"ENV_PREFIX=dev", c.env}})
		var errs stream.ConfigErrors
		if !errors.As(err, &errs) || len(errs) != 1 {
			t.Fatalf("%s: want one problem, got %v", c.env, err)
		}
		e := errs[0]
		origin := "env " + c.env[:len(c.env)-len("=x")]
		if c.env[len(c.env)-2:] == "=5" {
			origin = "env " + c.env[:len(c.env)-len("=5")]
		}
		if e.Path != c.path || e.Origin != origin || e.Msg != c.msg {
			t.Errorf("%s:\n got %s | %s | %s\nwant %s | %s | %s", c.env, e.Origin, e.Path, e.Msg, origin, c.path, c.msg)
		}
	}
}
