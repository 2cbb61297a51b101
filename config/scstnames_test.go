package config

import (
	"reflect"
	"testing"
)

// stream.function.bindings and stream.input-bindings can be set from the
// environment as SCSt's relaxed binding spells them.
func TestFunctionBindingsAndInputBindingsFromTheEnvironment(t *testing.T) {
	l := mustLoad(t, Options{Data: []byte("stream:\n  bindings:\n    input: { group: g }\n"), Logger: discard, Env: []string{
		"SPRING_CLOUD_FUNCTION_DEFINITION=process",
		"SPRING_CLOUD_STREAM_FUNCTION_BINDINGS_PROCESS_IN_0=input",
		"SPRING_CLOUD_STREAM_INPUT_BINDINGS=fooin;barin",
	}})
	if got, want := l.Stream.Function.Bindings, map[string]string{"process-in-0": "input"}; !reflect.DeepEqual(got, want) {
		t.Errorf("function.bindings %v, want %v", got, want)
	}
	if n := l.Stream.FunctionBindingName("process-in-0"); n != "input" {
		t.Errorf("process-in-0 is named %q, want input", n)
	}
	if l.Stream.InputBindings != "fooin;barin" {
		t.Errorf("input-bindings %q", l.Stream.InputBindings)
	}
}
