package nats

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// A server URL without a port gets its scheme's default port, as nats.go
// gives it (Conn.parseServerURL): 80 for ws, 443 for wss, 4222 for nats,
// tls and a bare host. ws://host and wss://host were given 4222, so the
// binder dialled a port nats.go itself would not have.
func TestServerURLDefaultPortFollowsScheme(t *testing.T) {
	for in, want := range map[string]string{
		"ws://h":           "ws://h:80",
		"wss://h":          "wss://h:443",
		"WSS://h":          "wss://h:443",
		"ws://h:":          "ws://h:80",
		"wss://u:p@h/path": "wss://u:p@h:443/path",
		"ws://[::1]":       "ws://[::1]:80",
		"ws://h:8080":      "ws://h:8080",
		"wss://h:8443":     "wss://h:8443",
		"nats://h":         "nats://h:4222",
		"tls://h":          "tls://h:4222",
		"h":                "nats://h:4222",
		"nats://h:4223":    "nats://h:4223",
	} {
		got, _, err := serverURL(in)
		if err != nil || got != want {
			t.Errorf("serverURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	st, err := parseSettings(stream.BinderSettings{Name: "n", Binder: map[string]any{"servers": "wss://a, wss://b:9443"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.servers) != 2 || st.servers[0] != "wss://a:443" || st.servers[1] != "wss://b:9443" {
		t.Errorf("servers %v, want [wss://a:443 wss://b:9443]", st.servers)
	}
}
