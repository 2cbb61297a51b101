package bindertest

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// LoadConfig loads yaml with the environment variables env ("NAME=value"),
// as an app does, failing the test when the loader reports a problem: for
// tests of how a binder reads the settings a file and its environment give.
func LoadConfig(t testing.TB, yaml string, env ...string) *stream.Config {
	t.Helper()
	if env == nil {
		env = []string{}
	}
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: env})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return l.Stream
}

// WithOrigins returns the problems of err (the stream.ConfigErrors it
// wraps) with each Origin set from cfg.Origins, as the app does for a
// binder's problems (lint shows them so: the variable or file:line that
// set the key). Other errors are returned as they are.
func WithOrigins(cfg *stream.Config, err error) error {
	var ces stream.ConfigErrors
	if errors.As(err, &ces) {
		for _, e := range ces {
			e.Origin = cfg.Origins[strings.ToLower(e.Path)]
		}
		return ces
	}
	return err
}
