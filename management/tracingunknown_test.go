package management

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/telemetry"
)

// TestUnknownTracingKeyReportedOnce: management.tracing.* is package
// telemetry's section, and a misspelt key in it is reported by telemetry
// alone. Both packages reported it, in two wordings
// (management.tracing.sampling.probabilty).
func TestUnknownTracingKeyReportedOnce(t *testing.T) {
	raw := map[string]any{"management": map[string]any{"tracing": map[string]any{
		"sampling": map[string]any{"probabilty": 0.5}, "exportr": "otlp"}}}
	if _, err := FromConfig(raw, nil); err != nil {
		t.Errorf("management reports telemetry's keys: %v", err)
	}
	_, err := telemetry.FromConfig(raw, nil)
	if err == nil || !strings.Contains(err.Error(), "exportr") {
		t.Errorf("telemetry: %v; want the misspelt keys reported", err)
	}
}
