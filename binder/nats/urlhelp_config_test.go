package nats

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// TestBadServerURLHelpSurvivesRedaction: the error about a server URL that
// does not parse shows no part of it, so redaction (the binder's own, and
// package redact's in lint, config and the app's logs) must leave it
// whole. Its template "nats://[user:password@]host[:port]" read as a URL
// with a password and came out as "want nats://[user:****** with reserved
// characters ...": the form the user had to fix was gone.
func TestBadServerURLHelpSurvivesRedaction(t *testing.T) {
	for _, raw := range []string{"nats://u:Zq#1@x@h:4222", "nats://u:Zq%1@h:4222"} {
		_, err := parseSettings(stream.BinderSettings{Name: "n", Type: Type, Environment: map[string]any{"servers": raw}})
		if err == nil {
			t.Fatalf("servers %q accepted", raw)
		}
		msg := err.Error()
		if strings.Contains(msg, "Zq") {
			t.Errorf("the error shows the URL: %s", msg)
		}
		if strings.Contains(msg, redact.Redacted) || !strings.Contains(msg, "before the host") {
			t.Errorf("the error lost its help to redaction: %s", msg)
		}
		if got := redact.String(msg); got != msg {
			t.Errorf("redaction changes the error:\n%s\nbecomes\n%s", msg, got)
		}
	}
}
