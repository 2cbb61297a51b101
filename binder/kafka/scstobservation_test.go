package kafka

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestSCStEnableObservationAccepted: SCSt's enableObservation, at true
// too, is accepted so that an SCSt file runs unchanged; true is ignored
// with a warning naming the key and where tracing is configured. It was
// refused at true ("tracing is configured with package telemetry").
func TestSCStEnableObservationAccepted(t *testing.T) {
	for _, s := range []stream.BinderSettings{
		{Name: "k", Type: Type, Binder: map[string]any{"enableObservation": true}},
		{Name: "k", Type: Type, Environment: map[string]any{"spring": map[string]any{"cloud": map[string]any{"stream": map[string]any{
			"kafka": map[string]any{"binder": map[string]any{"enable-observation": "true"}}}}}}},
	} {
		st, err := parseSettings(s)
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if len(st.warnings) != 1 || !strings.Contains(st.warnings[0], "nable") ||
			!strings.Contains(st.warnings[0], "true is ignored: tracing is configured with management.tracing.*") {
			t.Errorf("warnings %q, want one naming the key and where tracing is configured", st.warnings)
		}
	}
	st, err := parseSettings(stream.BinderSettings{Name: "k", Type: Type, Binder: map[string]any{"enable-observation": false}})
	if err != nil || len(st.warnings) != 0 {
		t.Errorf("enable-observation false: %v, warnings %q; want accepted silently", err, st.warnings)
	}
}
