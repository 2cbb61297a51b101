package redis

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// TestMalformedURLConfig: a url or address whose host or port the dial
// cannot use is a configuration error at its key, the password not shown.
// redis://u:pw@127.0.0.1:36379:99/0 (a port twice) parsed as host
// "127.0.0.1:36379", port 99, and was retried as an outage ("lookup
// 127.0.0.1:36379: no such host"); an empty url read as a malformed one.
func TestMalformedURLConfig(t *testing.T) {
	const pw = "Pw-s3cret"
	bindertest.AddressesChecked(t, Type, pw, func(bs stream.BinderSettings) error { _, err := parseSettings(bs); return err }, [][3]string{
		{"url", "redis://u:" + pw + "@127.0.0.1:36379:99/0", "host holds a colon"},
		{"url", "rediss://u:" + pw + "@[h:6379]:99/0", "not a valid redis URL"},
		{"url", "redis://u:" + pw + "@h:0/0", "(1-65535)"},
		{"url", "redis://u:" + pw + "@h:6x/0", "not a valid redis URL"},
		{"url", "http://u:" + pw + "@h:6379/0", "want redis://"},
		{"url", "redis://u:12345/" + pw + "@h/0", "an '@' after the host"},
		{"address", "::1", "write an IPv6 address as [addr]:port"},
		{"url", "", "is empty"},
		{"url", " ", "is empty"},
		{"address", "[h:6379]:99", "host holds a colon"},
		{"address", "", "is empty"},
	}, []map[string]any{
		{"url": "redis://u:p@[::1]:6379/0"},
		{"url": "rediss://h"},
		{"address": "[::1]:6379"},
		{"address": "h"},
	})
}

// TestAddressIPv6WithoutPort: "[::1]" is an IPv6 address without a port
// (the port is optional): it dials [::1]:6379. It was refused ("missing
// port in address"): its host was joined with its brackets, [[::1]]:6379.
// "::1" stays refused: an unbracketed IPv6 address may end in what was
// meant as a port.
func TestAddressIPv6WithoutPort(t *testing.T) {
	for in, want := range map[string]string{"[::1]": "[::1]:6379", "[fe80::1%eth0]": "[fe80::1%eth0]:6379", "[::1]:6380": "[::1]:6380", "h": "h:6379"} {
		if got, err := hostPort(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"::1", "[::1", "[[::1]]"} {
		if got, err := hostPort(in); err == nil {
			t.Errorf("%q: accepted as %q", in, got)
		}
	}
}
