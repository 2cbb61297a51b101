package management_test

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// management.server.adress in a file was "unknown key" where the
// variable MANAGEMENT_SERVER_ADRESS had a did-you-mean: a file's unknown
// key gets the known key it most likely misspells (the config package's
// rule), among its section's keys, or the whole key path when a section's
// name is the typo; with none close, the section's known keys.
func TestUnknownKeyInFileSuggests(t *testing.T) {
	const yaml = `management:
  server:
    adress: 127.0.0.1:0
    colour: blue
  servr:
    address: 127.0.0.1:0
`
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = management.FromConfig(l.Raw, l.Problem)
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("want stream.ConfigErrors, got %v", err)
	}
	want := []stream.ConfigError{
		{Path: "management.server.adress", Origin: "application.yaml:3", Msg: "unknown key; did you mean address?"},
		{Path: "management.server.colour", Origin: "application.yaml:4",
			Msg: "unknown key (known keys: address, idle-timeout, main-server, max-connections, read-header-timeout, read-timeout, write-timeout)"},
		{Path: "management.servr.address", Origin: "application.yaml:6", Msg: "unknown key; did you mean management.server.address?"},
	}
	if len(ces) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ces), len(want), err)
	}
	for i, w := range want {
		if *ces[i] != w {
			t.Errorf("problem %d: got %+v, want %+v", i, *ces[i], w)
		}
	}
}
