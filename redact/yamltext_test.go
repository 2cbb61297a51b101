package redact

import "testing"

// A configuration value may hold a YAML text of its own (a client's
// configuration in one key: client-yaml: "user: svc\npassword: X"). Its
// "password: X" was shown whole by /actuator/config with show-values
// always: only name=value and JSON's "name": value were pairs. In a
// configuration value (Tree, Value) a secret name's "name: value" at a
// line's start or in a flow map is hidden; in prose (String) it stays a
// message ("password: must not be empty").
func TestYAMLTextInAValue(t *testing.T) {
	for in, want := range map[string]string{
		"user: svc\npassword: hunter2":               "user: svc\npassword: ******",
		"user: svc\n  secret:   s3  \nother: y":      "user: svc\n  secret:   ******  \nother: y",
		"- password: p1\n- user: a":                  "- password: ******\n- user: a",
		"{user: a, password: p2, b: c}":              "{user: a, password: ******, b: c}",
		"token: 'abc def'\n":                         "token: ******\n",
		"password: p3":                               "password: ******",
		"password:p4":                                "password:p4",
		"note: the password: is set elsewhere":       "note: the password: is set elsewhere",
		"user: svc\nhost: h\n":                       "user: svc\nhost: h\n",
		"client:\n  sasl:\n    password: p5\n  x: 1": "client:\n  sasl:\n    password: ******\n  x: 1",
		"password: p6\nauth: Bearer b7":              "password: ******\nauth: Bearer ******",
		`{user: a, password: "x,y}z", b: c}`:         "{user: a, password: ******, b: c}",
		"{user: a, token: 'p,q'}":                    "{user: a, token: ******}",
	} {
		if got := Value(in); got != want {
			t.Errorf("Value(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Tree(map[string]any{"client-yaml": "user: svc\npassword: hunter2"}).(map[string]any)["client-yaml"]; got != "user: svc\npassword: ******" {
		t.Errorf("Tree: %q", got)
	}
	for _, msg := range []string{"password: must not be empty", "stream.binders.r.environment.password: must not be empty"} {
		if got := String(msg); got != msg {
			t.Errorf("String(%q) = %q: a message, not a pair", msg, got)
		}
	}
}
