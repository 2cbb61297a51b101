package config

import (
	"strings"
	"testing"
)

// An upper-case placeholder not in the environment is looked up in the
// configuration (a .env file imported as properties), but a section of the
// configuration that its name matches relaxed (server:, myapp:, a list hosts:) is no
// value for it: ${SERVER:localhost} takes its default, as it did before
// the configuration was looked in and as in Spring Boot, and ${MYAPP}
// without one is the unset variable it always was.
func TestUpperCasePlaceholderNamingASection(t *testing.T) {
	base := "server:\n  port: 8080\nhosts: [a, b]\nmyapp:\n  host: ${SERVER:localhost}\n  other: ${HOSTS:none}\n"
	l := mustLoad(t, Options{Data: []byte(base), Logger: discard})
	app, _ := l.Raw["myapp"].(map[string]any)
	if app["host"] != "localhost" {
		t.Errorf("${SERVER:localhost} beside a server section = %v, want localhost", app["host"])
	}
	if app["other"] != "none" {
		t.Errorf("${HOSTS:none} beside a list hosts = %v, want none", app["other"])
	}
	es := configErrors(t, Options{Data: []byte(base + "x: ${MYAPP}\n")})
	if len(es) != 1 || !strings.Contains(es[0].Msg, "environment variable MYAPP is not set") {
		t.Errorf("${MYAPP} beside a myapp section: %v, want the variable not set", es)
	}
}
