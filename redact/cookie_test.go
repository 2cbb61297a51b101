package redact_test

import (
	"testing"

	"github.com/streambind/streambind/redact"
)

// TestCookieIsSecret: a Cookie or Set-Cookie header (streambind dlq show,
// tail, logs) carries session tokens and is hidden as Authorization is;
// settings about cookies are not. Cookie headers were printed in full.
func TestCookieIsSecret(t *testing.T) {
	for _, k := range []string{"Cookie", "Set-Cookie", "cookie", "cookies", "session-cookie", "sessionCookie"} {
		if !redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
	}
	for _, k := range []string{"cookie-name", "cookieMaxAge", "cookie-path", "use-cookies-for-sessions"} {
		if redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
}
