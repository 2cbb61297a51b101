package config

import "testing"

// A placeholder cycle's problem names the chain from the variable the
// value's placeholder took, the links that led into the cycle included
// (env ENV_PREFIX was missing), and says what to do, not "(not followed)".
func TestPlaceholderCycleMessage(t *testing.T) {
	data := []byte("spring.cloud.stream.bindings.handleOrder-in-0.destination: ${ENV_PREFIX}-orders\n")
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"ENV_PREFIX=${A}", "A=${B}", "B=${A}"},
			"placeholder cycle: env ENV_PREFIX → env A → env B → env A; set env A or env B to a value without a placeholder"},
		{[]string{"ENV_PREFIX=${A}", "A=${B}", "B=${C}", "C=${A}"},
			"placeholder cycle: env ENV_PREFIX → env A → env B → env C → env A; set env A, env B or env C to a value without a placeholder"},
		{[]string{"ENV_PREFIX=x${ENV_PREFIX}"},
			"placeholder cycle: env ENV_PREFIX → env ENV_PREFIX; set env ENV_PREFIX to a value without a placeholder"},
	} {
		es := configErrors(t, Options{Data: data, Logger: discard, Env: c.env})
		if len(es) != 1 || es[0].Path != "stream.bindings.handleOrder-in-0.destination" || es[0].Msg != c.want {
			t.Errorf("%v: problems %v\nwant one at stream.bindings.handleOrder-in-0.destination: %s", c.env, es, c.want)
		}
	}
	// In the environment-only expansion (sections, profile names) too.
	_, probs := expandPlaceholders("${ENV_PREFIX}", map[string]string{"ENV_PREFIX": "${A}", "A": "${B}", "B": "${A}"})
	if want := "placeholder cycle: env ENV_PREFIX → env A → env B → env A; set env A or env B to a value without a placeholder"; len(probs) != 1 || probs[0] != want {
		t.Errorf("expandPlaceholders: %q, want %q", probs, want)
	}
}
