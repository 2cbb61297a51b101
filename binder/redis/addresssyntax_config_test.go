package redis

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestMalformedURLConfig: a url or address whose host or port the dial
// cannot use is a configuration error at its key, the password not shown.
// redis://u:pw@127.0.0.1:36379:99/0 (a port twice) parsed as host
// "127.0.0.1:36379", port 99, and was retried as an outage ("lookup
// 127.0.0.1:36379: no such host"); an empty url read as a malformed one.
func TestMalformedURLConfig(t *testing.T) {
	const pw = "Pw-s3cret"
	for _, tc := range []struct {
		key, value, want string
	}{
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
	} {
		for _, env := range []bool{false, true} {
			bs := stream.BinderSettings{Name: "r", Type: Type}
			m, at := map[string]any{tc.key: tc.value}, "stream.redis.binder."+tc.key
			if env {
				bs.Environment, at = m, "stream.binders.r.environment."+tc.key
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
	for _, b := range []map[string]any{
		{"url": "redis://u:p@[::1]:6379/0"},
		{"url": "rediss://h"},
		{"address": "[::1]:6379"},
		{"address": "h"},
	} {
		if _, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Binder: b}); err != nil {
			t.Errorf("%v: %v", b, err)
		}
	}
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
