package config

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// STREAM_DEFAULT_BINDR was reported at stream.default, with no
// did-you-mean: its nearest vocabulary token, BIND (auto-bind-dlq), names
// no key there and the search stopped at it. Every near token is tried,
// nearest first: BINDER names stream.default-binder, and the variable is
// reported at the key it spells, as other misspelt variables are.
func TestMisspeltEnvTriesEveryNearToken(t *testing.T) {
	for _, c := range []struct{ env, path, msg string }{
		{"STREAM_DEFAULT_BINDR", "stream.default-bindr", "STREAM_DEFAULT_BINDR matches no configuration key; did you mean STREAM_DEFAULT_BINDER?"},
		{"STREAM_DEFAULT_BINDERR", "stream.default-binderr", "STREAM_DEFAULT_BINDERR matches no configuration key; did you mean STREAM_DEFAULT_BINDER?"},
	} {
		_, err := Load(Options{Data: []byte("stream:\n  function:\n    definition: payment\n"), Env: []string{c.env + "=memory"}, Logger: discard})
		var errs stream.ConfigErrors
		if !errors.As(err, &errs) || len(errs) != 1 {
			t.Fatalf("%s: want one problem, got %v", c.env, err)
		}
		if e := errs[0]; e.Path != c.path || e.Origin != "env "+c.env || e.Msg != c.msg {
			t.Errorf("%s:\n got %s | %s | %s\nwant %s | env %s | %s", c.env, e.Path, e.Origin, e.Msg, c.path, c.env, c.msg)
		}
	}
}
