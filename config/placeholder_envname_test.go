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

// A top-level key whose value is the upper-case variable of its own name,
// with a default (port: ${PORT:8080}, database-url: ${DATABASE_URL:...},
// the usual way to let a variable override a key), takes the variable
// when set and the default when not, as before ee25a6c and in Spring
// Boot; the configuration lookup found the key itself, and it was a
// "placeholder cycle: port → port" error. Without a default it is the
// unset variable, not a cycle.
func TestUpperCasePlaceholderOfItsOwnKey(t *testing.T) {
	base := "port: ${PORT:8080}\ndatabase-url: ${DATABASE_URL:postgres://localhost/app}\n"
	l := mustLoad(t, Options{Data: []byte(base), Logger: discard})
	if l.Raw["port"] != "8080" || l.Raw["database-url"] != "postgres://localhost/app" {
		t.Errorf("port %v, database-url %v; want the defaults 8080 and postgres://localhost/app", l.Raw["port"], l.Raw["database-url"])
	}
	l = mustLoad(t, Options{Data: []byte(base), Logger: discard, Env: []string{"PORT=9999", "DATABASE_URL=postgres://db/app"}})
	if l.Raw["port"] != "9999" || l.Raw["database-url"] != "postgres://db/app" {
		t.Errorf("port %v, database-url %v; want the variables' 9999 and postgres://db/app", l.Raw["port"], l.Raw["database-url"])
	}
	es := configErrors(t, Options{Data: []byte("token: ${TOKEN}\n")})
	if len(es) != 1 || !strings.Contains(es[0].Msg, "environment variable TOKEN is not set") {
		t.Errorf("token: ${TOKEN} unset: %v, want the variable not set", es)
	}
}
