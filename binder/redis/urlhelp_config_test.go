package redis

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// TestBadURLHelpSurvivesRedaction: the error about a url that does not
// parse shows no part of it, so redaction (the binder's own, and package
// redact's in lint, config and the app's logs) must leave it whole. Its template
// "redis://[user:password@]host[:port][/db]" read as a URL with a password
// and came out as "want redis://[user:****** with reserved characters":
// the form the user had to fix was gone.
func TestBadURLHelpSurvivesRedaction(t *testing.T) {
	for _, raw := range []string{"redis://u:Zq#1@x@h:6379", "http://u:Zq1@h:6379"} {
		_, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{"url": raw}})
		if err == nil {
			t.Fatalf("url %q accepted", raw)
		}
		msg := err.Error()
		if strings.Contains(msg, "Zq") {
			t.Errorf("the error shows the url: %s", msg)
		}
		// Nothing secret is in it, so nothing is hidden: the binder's
		// own redaction (and lint's) leaves the form to write whole.
		if strings.Contains(msg, redact.Redacted) || !strings.Contains(msg, "before the host") {
			t.Errorf("the error lost its help to redaction: %s", msg)
		}
		if got := redact.String(msg); got != msg {
			t.Errorf("redaction changes the error:\n%s\nbecomes\n%s", msg, got)
		}
	}
}
