package nats

import (
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// stream.max-age below the duplicate window failed every bind (err_code
// 10052, "duplicates window can not be larger then max age", naming
// neither key). The default window follows a shorter max-age; a window
// written is a configuration error at its key.
func TestStreamMaxAgeBelowDuplicateWindow(t *testing.T) {
	st, err := parseSettings(stream.BinderSettings{Type: Type, Binder: map[string]any{"stream": map[string]any{"max-age": "30s"}}})
	if err != nil {
		t.Fatal(err)
	}
	if st.stream.duplicateWindow != 30*time.Second {
		t.Errorf("duplicate window %s with max-age 30s; want 30s", st.stream.duplicateWindow)
	}
	_, err = parseSettings(stream.BinderSettings{Type: Type, Binder: map[string]any{"stream": map[string]any{"max-age": "30s", "duplicateWindow": "1m"}}})
	if err == nil || !strings.Contains(err.Error(), "stream.nats.binder.stream.duplicateWindow") || !strings.Contains(err.Error(), "must not be above stream.max-age (30s)") {
		t.Errorf("error %v; want one at stream.nats.binder.stream.duplicateWindow", err)
	}
	if _, err := parseSettings(stream.BinderSettings{Type: Type, Binder: map[string]any{"stream": map[string]any{"max-age": "1h", "duplicate-window": "1m"}}}); err != nil {
		t.Errorf("a window below max-age refused: %v", err)
	}
}
