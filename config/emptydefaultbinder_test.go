package config

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// An empty stream.default-binder (default-binder: "", ${BINDER:},
// STREAM_DEFAULT_BINDER=) was an error ("must not be empty"), while
// docs/configuration.md says that when it is empty the one binder declared
// is the default, and SCSt takes an empty value for not set (config
// breaker trial).
func TestEmptyDefaultBinderIsNotSet(t *testing.T) {
	const binders = "stream.binders.k1: {type: kafka, environment: {brokers: 127.0.0.1:1}}\nstream.bindings.x-in-0.group: g\n"
	for _, tc := range []struct {
		name, yaml string
		env        []string
	}{
		{"empty", "stream.default-binder: ''\n", nil},
		{"blank", "stream.default-binder: '  '\n", nil},
		{"placeholder with an empty default", "stream.default-binder: ${BINDER:}\n", nil},
		{"SCSt key", "spring.cloud.stream.default-binder: ''\n", nil},
		{"environment", "", []string{"STREAM_DEFAULT_BINDER="}},
		{"environment over a file's", "stream.default-binder: other\n", []string{"SPRING_CLOUD_STREAM_DEFAULT_BINDER="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = []string{}
			}
			l := mustLoad(t, Options{Data: []byte(tc.yaml + binders), Env: env})
			if l.Stream.DefaultBinder != "" {
				t.Errorf("DefaultBinder %q, want none", l.Stream.DefaultBinder)
			}
			if name, why := stream.DefaultBinderOf(l.Stream, []string{"kafka", "memory"}); name != "k1" {
				t.Errorf("DefaultBinderOf: %q (%s), want k1, the one binder declared", name, why)
			}
		})
	}
}
