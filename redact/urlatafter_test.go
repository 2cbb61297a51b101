package redact

import (
	"net/url"
	"strings"
	"testing"
)

// TestURLAtAfterAuthority: a URL whose password held an unencoded '/', '?'
// or '#' parses with the rest of the password in its path, query or
// fragment (amqp://guest:12345/secretpart@h: host "guest", port 12345,
// path "/secretpart@h"); URL showed it whole, as the rabbit binder's dial
// error did ("dial amqp://guest:******@guest:12345/secretpart@127.0.0.1").
// All from "://" to the last '@' is hidden.
func TestURLAtAfterAuthority(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://guest:12345/secretpart@127.0.0.1":             "amqp://******@127.0.0.1",
		"amqp://guest:pw@guest:12345/secretpart@127.0.0.1/vh": "amqp://******@127.0.0.1/vh",
		"nats://u:12345?secretpart@h:4222":                    "nats://******@h:4222",
		"redis://u:12345#secretpart@h/0":                      "redis://******@h/0",
		"amqp://guest:pw@h:5672/vh":                           "amqp://guest:******@h:5672/vh",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		got := URL(u)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "secretpart") || strings.Contains(got, "12345") {
			t.Errorf("URL(%q) = %q shows the password", in, got)
		}
	}
}
