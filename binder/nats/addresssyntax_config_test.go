package nats

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestMalformedURLConfig: a server address whose host or port the dial
// cannot use is a configuration error at its key, the password not shown.
// nats://u:p@127.0.0.1:34222:99 (a port twice) parsed, and was retried as
// an outage ("too many colons in address"); an empty servers read as
// "want at least one server URL".
func TestMalformedURLConfig(t *testing.T) {
	const pw = "Pw-s3cret"
	for _, tc := range []struct {
		value, want string
	}{
		{"nats://u:" + pw + "@127.0.0.1:34222:99", "too many colons"},
		{"u:" + pw + "@127.0.0.1:34222:99", "too many colons"},
		{"tls://u:" + pw + "@[h:4222]:99", "not a server URL"},
		{"nats://u:" + pw + "@h:0", "port is not a number from 1 to 65535"},
		{"nats://u:" + pw + "@h:70000", "port is not a number from 1 to 65535"},
		{"nats://h:4222, nats://" + pw + "@h:65536", "server 2: its host or port"},
		{"nats://u:" + pw + "@h:4x", "not a server URL"},
		{"http://u:" + pw + "@h:4222", "want nats, tls, ws or wss"},
		// A password holding an unencoded '/' ends the authority: read
		// as host "u", port 12345 and path "/<rest>@h", shown by messages.
		{"nats://u:12345/" + pw + "@h", "an '@' after the host"},
		{"u:12345/" + pw + "@h", "an '@' after the host"},
		{"", "is empty"},
		{" , ", "is empty"},
	} {
		for _, env := range []bool{false, true} {
			bs := stream.BinderSettings{Name: "n", Type: Type}
			m, at := map[string]any{"servers": tc.value}, "stream.nats.binder.servers"
			if env {
				bs.Environment, at = m, "stream.binders.n.environment.servers"
			} else {
				bs.Binder = m
			}
			_, err := parseSettings(bs)
			if err == nil {
				t.Errorf("%s %q accepted", at, tc.value)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, at+":") || !strings.Contains(msg, tc.want) || strings.Contains(msg, pw) {
				t.Errorf("%s %q: %s\nwant it at the key, saying %q, without the password", at, tc.value, msg, tc.want)
			}
		}
	}
	for _, v := range []string{"nats://u:p@[::1]:4222", "h", "tls://u:p@h:4443", "ws://h:8080", "[::1]", "h1:4222,h2:4223"} {
		if _, err := parseSettings(stream.BinderSettings{Name: "n", Type: Type, Binder: map[string]any{"servers": v}}); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
}
