package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestUntypedBinderAliasesFollowPrecedence: a binder declared without a
// type takes its name as its type (as Load gives it), and its
// environment's aliases follow the sources' precedence as a typed one's
// do: the variable's MAX_LENGTH over the file's maxlen, and two names in
// one document a problem. Before, the loader took such a binder's type
// to be "" and resolved nothing: the file's maxlen won, and maxlen with
// max-length in one document passed.
func TestUntypedBinderAliasesFollowPrecedence(t *testing.T) {
	for _, typed := range []string{"", "type: redis, "} {
		file := "stream.binders.redis: { " + typed + "environment: { maxlen: 500 } }\n"
		l := loadApp(t, file, "STREAM_BINDERS_REDIS_ENVIRONMENT_MAX_LENGTH=1000")
		env := binderSection(t, l, "binders", "redis", "environment")
		if _, ok := env["maxlen"]; ok || len(env) != 1 {
			t.Errorf("%q: environment %v, want the variable's max-length alone", typed, env)
		}

		_, err := Load(Options{Data: []byte("stream.binders.redis: { " + typed + "environment: { maxlen: 1, max-length: 2 } }\n"), Env: []string{}})
		var ces stream.ConfigErrors
		if !errors.As(err, &ces) || len(ces) != 1 || !strings.Contains(ces[0].Msg, "keep one") {
			t.Errorf("%q: one document with maxlen and max-length: %v, want keep one", typed, err)
		}
	}
}
