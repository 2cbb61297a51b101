package nats

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// TestMalformedURLConfig: a server address whose host or port the dial
// cannot use is a configuration error at its key, the password not shown.
// nats://u:p@127.0.0.1:34222:99 (a port twice) parsed, and was retried as
// an outage ("too many colons in address"); an empty servers read as
// "want at least one server URL".
func TestMalformedURLConfig(t *testing.T) {
	const pw = "Pw-s3cret"
	bindertest.AddressesChecked(t, Type, pw, func(bs stream.BinderSettings) error { _, err := parseSettings(bs); return err }, [][3]string{
		{"servers", "nats://u:" + pw + "@127.0.0.1:34222:99", "too many colons"},
		{"servers", "u:" + pw + "@127.0.0.1:34222:99", "too many colons"},
		{"servers", "tls://u:" + pw + "@[h:4222]:99", "not a server URL"},
		{"servers", "nats://u:" + pw + "@h:0", "port is not a number from 1 to 65535"},
		{"servers", "nats://u:" + pw + "@h:70000", "port is not a number from 1 to 65535"},
		{"servers", "nats://h:4222, nats://" + pw + "@h:65536", "server 2: its host or port"},
		{"servers", "nats://u:" + pw + "@h:4x", "not a server URL"},
		{"servers", "http://u:" + pw + "@h:4222", "want nats, tls, ws or wss"},
		// A password holding an unencoded '/' ends the authority: read
		// as host "u", port 12345 and path "/<rest>@h", shown by messages.
		{"servers", "nats://u:12345/" + pw + "@h", "an '@' after the host"},
		{"servers", "u:12345/" + pw + "@h", "an '@' after the host"},
		{"servers", "", "is empty"},
		{"servers", " , ", "is empty"},
	}, []map[string]any{{"servers": "nats://u:p@[::1]:4222"}, {"servers": "h"}, {"servers": "tls://u:p@h:4443"}, {"servers": "ws://h:8080"}, {"servers": "[::1]"}, {"servers": "h1:4222,h2:4223"}})
}
