package telemetry

import (
	"strings"
	"testing"
)

// A setting written in two spellings with two values took whichever the
// map's random order visited last: the sampling probability (or the log
// level) changed from one start to the next. It is an error naming both;
// the same value twice is accepted.
func TestSettingWrittenTwiceIsAnError(t *testing.T) {
	raw := map[string]any{
		"logging": map[string]any{"level": "debug", "LEVEL": "debug"},
		"management": map[string]any{"tracing": map[string]any{
			"sampling-probability": 0.1, "samplingprobability": 1,
			"endpoint": "http://u:hunter2@collector:4318", "Endpoint": "http://collector:4318",
		}},
	}
	for range 20 { // the map's order varies from run to run
		_, err := ConfigFrom(raw)
		if err == nil {
			t.Fatal("no error")
		}
		msg := err.Error()
		for _, want := range []string{
			"management.tracing.sampling-probability: 0.1 conflicts with management.tracing.samplingprobability: 1 (the same setting)",
			"management.tracing.Endpoint: http://collector:4318 conflicts with management.tracing.endpoint: http://u:******@collector:4318 (the same setting)",
		} {
			if !strings.Contains(msg, want) {
				t.Fatalf("error lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "hunter2") || strings.Contains(msg, "logging") {
			t.Fatalf("error: %s", msg)
		}
	}
}
