package conf

import (
	"strings"
	"testing"
)

// TestHostPort: a host:port passes when a dial can use it; the errors say
// what is wrong without the address (it may be part of a password).
func TestHostPort(t *testing.T) {
	for _, ok := range []string{"h:1", "h:65535", "127.0.0.1:5672", "[::1]:4222", "[fe80::1%eth0]:9092", ":4222"} {
		if err := HostPort(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"h:5672:99", "too many colons"},
		{"[h:5672]:99", "host holds a colon"},
		{"[127.0.0.1:5672]:99", "host holds a colon"},
		{"h:0", "port is not a number"},
		{"h:65536", "port is not a number"},
		{"h:x", "port is not a number"},
		{"h", "missing port"},
		{"[::1:4222", "missing ']'"},
	} {
		err := HostPort(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), tc.in) {
			t.Errorf("%q: the error shows the address: %v", tc.in, err)
		}
	}
}

// TestAtAfterHost: a URL with an '@' after its authority is refused (a
// password with an unencoded '/', '?' or '#' ends up in the path), and the
// error shows nothing of it.
func TestAtAfterHost(t *testing.T) {
	for _, ok := range []string{"amqp://u:p@h/vh", "amqp://u:p%2Fq@h:5672/vh", "amqp://u:p@q@h/vh", "nats://h:4222", "h:5672", "u:12345/s@h", "redis://h/0"} {
		if err := AtAfterHost(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"amqp://guest:12345/secretpart@127.0.0.1", "nats://u:12345/secret@h", "amqp://u:a?secret@h", "amqp://u:a#secret@h/vh", "redis://u:p@h/0@x"} {
		err := AtAfterHost(bad)
		if err == nil || !strings.Contains(err.Error(), "percent-encoded") {
			t.Errorf("%q: %v, want an error", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "12345") {
			t.Errorf("%q: the error shows the value: %v", bad, err)
		}
	}
}
