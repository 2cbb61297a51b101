package telemetry_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// The trial's logging.levl gave "telemetry configuration: logging.levl:
// unknown key": no file:line, no did-you-mean, where the stream and
// management sections' problems have both. FromConfig reports each
// problem through the loaded configuration's Problem, as
// management.FromConfig does: the key as written, its file:line or env
// variable, and a did-you-mean for a likely typo.
func TestFromConfigNamesOriginAndSuggests(t *testing.T) {
	const yaml = `logging:
  levl: debug
management:
  tracing:
    exportr: otlp
    sampling-probability: 3
`
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{"LOGGING_FORMAT=xml"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = telemetry.FromConfig(l.Raw, l.Problem)
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("want stream.ConfigErrors, got %v", err)
	}
	want := []stream.ConfigError{
		{Path: "logging.format", Origin: "env LOGGING_FORMAT", Msg: `want text or json, got "xml"`},
		{Path: "logging.levl", Origin: "application.yaml:2", Msg: "unknown key; did you mean level?"},
		{Path: "management.tracing.exportr", Origin: "application.yaml:5", Msg: "unknown key; did you mean exporter?"},
		{Path: "management.tracing.sampling-probability", Origin: "application.yaml:6", Msg: `want a number in [0, 1], got "3"`},
	}
	if len(ces) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ces), len(want), err)
	}
	for i, w := range want {
		if *ces[i] != w {
			t.Errorf("problem %d: got %+v, want %+v", i, *ces[i], w)
		}
	}
	// No key close: the known keys.
	_, err = telemetry.FromConfig(map[string]any{"logging": map[string]any{"colour": "on"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "logging.colour: unknown key (known keys: format, level)") {
		t.Errorf("got %v", err)
	}
	// ConfigFrom keeps its one error.
	if _, err := telemetry.ConfigFrom(l.Raw); err == nil || !strings.Contains(err.Error(), "telemetry configuration: logging.format: ") ||
		!strings.Contains(err.Error(), "logging.levl: unknown key; did you mean level?") {
		t.Errorf("ConfigFrom: %v", err)
	}
	// A valid configuration: no error.
	if _, err := telemetry.FromConfig(map[string]any{"logging": map[string]any{"level": "warn"}}, l.Problem); err != nil {
		t.Errorf("valid: %v", err)
	}
}
