package rabbit

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// TestMalformedURIConfig: a uri or addresses entry whose host or port the
// dial cannot use is a configuration error at its key, the password not
// shown. amqp://u:pw@127.0.0.1:35672:99/vh (a port twice) parsed as host
// "127.0.0.1:35672", port 99, passed validation, and was retried as an
// outage for the whole start-up timeout ("does not parse as an AMQP
// URL"); an empty uri read as "bad amqp uri".
func TestMalformedURIConfig(t *testing.T) {
	const pw = "Pw-s3cret"
	bindertest.AddressesChecked(t, Type, pw, func(bs stream.BinderSettings) error { _, err := parseSettings(bs); return err }, [][3]string{
		{"uri", "amqp://u:" + pw + "@127.0.0.1:35672:99/vh", "host holds a colon"},
		{"uri", "amqp://u:" + pw + "@h:0/vh", "port is not a number from 1 to 65535"},
		{"uri", "amqp://u:" + pw + "@h:70000/vh", "port is not a number from 1 to 65535"},
		{"uri", "amqp://u:" + pw + "@h:5x/vh", "bad amqp uri"},
		{"uri", "http://u:" + pw + "@h:5672/vh", "bad amqp uri"},
		{"uri", "", "is empty"},
		{"uri", "  ", "is empty"},
		{"addresses", "amqp://u:" + pw + "@[h:5672]:99/vh", "host holds a colon"},
		{"addresses", "u:" + pw + "@h:65536", "port is not a number from 1 to 65535"},
		{"addresses", "amqp://u:" + pw + "@[fe80::1%eth0]:5672", "IPv6 zone"},
		{"uri", "amqp://u:" + pw + "@[fe80::1%25eth0]:5672/vh", "IPv6 zone"},
		// A password holding an unencoded '/' ends the authority: it was
		// read as host "u", port 12345 and virtual host "<rest>@h", and the
		// dial's error and "binder rabbit at u:12345" showed it.
		{"uri", "amqp://u:12345/" + pw + "@127.0.0.1", "an '@' after the host"},
		{"uri", "amqp://u:a?" + pw + "@127.0.0.1/vh", "an '@' after the host"},
		{"addresses", "", "is empty"},
		{"addresses", " , ", "is empty"},
	}, []map[string]any{
		{"uri": "amqp://u:p@[::1]:5672/v"},
		{"uri": "amqps://h"},
		{"uri": "amqp://"},
		{"addresses": "[::1]:5672, ::1, h, amqps://u:p@h2/v"},
		{"addresses": "[fe80::1%25eth0]:5672"},
	})
}

// TestMalformedURIConfigFailsApp: NewApp refuses the environment
// variable's malformed uri at once, as a configuration error naming the
// variable, without the password (it was accepted, and the app's start
// retried the dial as an outage).
func TestMalformedURIConfigFailsApp(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"amqp://u:Pw-s3cret@127.0.0.1:35672:99/vh", "host holds a colon"},
		{"", "is empty"},
	} {
		err := envAppErr(t, envBase, "STREAM_RABBIT_BINDER_URI="+tc.value)
		var ces stream.ConfigErrors
		if err == nil || !errors.As(err, &ces) {
			t.Fatalf("%q: %v, want a configuration error", tc.value, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "STREAM_RABBIT_BINDER_URI") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "Pw-s3cret") {
			t.Errorf("%q: %s\nwant it at STREAM_RABBIT_BINDER_URI, saying %q, without the password", tc.value, msg, tc.want)
		}
	}
}

// TestAddressesPasswordWithSlash: an addresses entry's user info ends at
// its last '@' and is taken literally (as Spring Boot reads addresses,
// where %2F would stay "%2F"), so a password holding '/' is read whole:
// the host is the one after the '@', and the messages' URL hides it.
func TestAddressesPasswordWithSlash(t *testing.T) {
	st, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type,
		Binder: map[string]any{"addresses": "amqp://u:12345/s3cretpart@h"}})
	if err != nil {
		t.Fatal(err)
	}
	ep := st.endpoint(0)
	if ep.hostPort != "h:5672" || ep.password != "12345/s3cretpart" || ep.vhost != "/" {
		t.Fatalf("endpoint %q, password %q, vhost %q", ep.hostPort, ep.password, ep.vhost)
	}
	if r := st.redacted(0); strings.Contains(r, "s3cret") || strings.Contains(r, "12345") {
		t.Errorf("redacted: %s", r)
	}
}
