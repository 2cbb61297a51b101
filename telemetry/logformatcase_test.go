package telemetry_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/telemetry"
)

// LOGGING_FORMAT=JSON was refused ("want text or json") while
// LOGGING_LEVEL=INFO was accepted: the format is read in any case, as the
// level is. An unknown level's message lists every level accepted,
// Spring Boot's trace, fatal and off included.
func TestLogFormatAnyCaseAndLevelMessage(t *testing.T) {
	for _, v := range []string{"JSON", "Json", "TEXT"} {
		l, err := config.Load(config.Options{Env: []string{"LOGGING_FORMAT=" + v, "LOGGING_LEVEL=INFO"}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := telemetry.FromConfig(l.Raw, l.Problem)
		if err != nil {
			t.Errorf("LOGGING_FORMAT=%s: %v", v, err)
			continue
		}
		if want := strings.ToLower(v); c.Log.Format != want {
			t.Errorf("LOGGING_FORMAT=%s: format %q, want %q", v, c.Log.Format, want)
		}
	}
	for _, v := range []string{"TRACE", "fatal", "Off", "WARN"} {
		l, err := config.Load(config.Options{Env: []string{"LOGGING_LEVEL=" + v}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := telemetry.FromConfig(l.Raw, l.Problem); err != nil {
			t.Errorf("LOGGING_LEVEL=%s: %v", v, err)
		}
	}
	l, err := config.Load(config.Options{Env: []string{"LOGGING_LEVEL=WARNING"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = telemetry.FromConfig(l.Raw, l.Problem)
	if want := `logging.level (env LOGGING_LEVEL): want trace, debug, info, warn, error, fatal or off (any case), got "WARNING"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LOGGING_LEVEL=WARNING: got %v, want %s", err, want)
	}
}

// The levels the message lists are the levels FromConfig takes from a raw
// tree config.Load did not map: Spring Boot's trace, fatal and off (YAML
// 1.1's false) too, as config maps them. Before, the message listed them
// but only config's path took them ("want trace, ..., got \"TRACE\"").
func TestLogLevelDirectTakesBootLevels(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want slog.Level
	}{
		{"TRACE", slog.LevelDebug}, {"trace", slog.LevelDebug}, {"Fatal", slog.LevelError},
		{"off", slog.LevelError}, {false, slog.LevelError}, {" warn ", slog.LevelWarn},
		{"INFO", slog.LevelInfo}, {"info+2", slog.LevelInfo + 2},
	} {
		c, err := telemetry.FromConfig(map[string]any{"logging": map[string]any{"level": tc.v}}, nil)
		if err != nil {
			t.Errorf("logging.level %#v: %v", tc.v, err)
			continue
		}
		if c.Log.Level != tc.want {
			t.Errorf("logging.level %#v: level %v, want %v", tc.v, c.Log.Level, tc.want)
		}
	}
	for _, v := range []any{"WARNING", true, "verbose"} {
		if _, err := telemetry.FromConfig(map[string]any{"logging": map[string]any{"level": v}}, nil); err == nil || !strings.Contains(err.Error(), "want trace, debug, info, warn, error, fatal or off (any case)") {
			t.Errorf("logging.level %#v: got %v, want the levels' message", v, err)
		}
	}
}
