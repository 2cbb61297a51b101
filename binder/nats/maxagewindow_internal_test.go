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
	if w := st.stream.windowWithinMaxAge().duplicateWindow; w != 30*time.Second {
		t.Errorf("duplicate window %s with max-age 30s; want 30s", w)
	}
	// A dead-letter stream's window follows its own max-age, not the
	// destinations' (the reviewer: a 30s stream.max-age gave dead-letter
	// streams kept 168h a 30s window).
	bd := &Binder{st: st}
	if w := bd.streamSettings(true).duplicateWindow; w != DefaultDuplicateWindow {
		t.Errorf("dead-letter stream's duplicate window %s; want %s", w, DefaultDuplicateWindow)
	}
	_, err = parseSettings(stream.BinderSettings{Type: Type, Binder: map[string]any{"stream": map[string]any{"max-age": "30s", "duplicateWindow": "1m"}}})
	if err == nil || !strings.Contains(err.Error(), "stream.nats.binder.stream.duplicateWindow") || !strings.Contains(err.Error(), "must not be above stream.max-age (30s)") {
		t.Errorf("error %v; want one at stream.nats.binder.stream.duplicateWindow", err)
	}
	if _, err := parseSettings(stream.BinderSettings{Type: Type, Binder: map[string]any{"stream": map[string]any{"max-age": "1h", "duplicate-window": "1m"}}}); err != nil {
		t.Errorf("a window below max-age refused: %v", err)
	}
}
