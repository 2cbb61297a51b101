package main

import (
	"strings"
	"testing"
)

// TestLintMalformedBrokerURL: a broker URL whose host or port the dial
// cannot use (a port given twice, as an SRE's STREAM_RABBIT_BINDER_URI
// had it) is a configuration error lint reports at the variable, without
// the password: lint said nothing (exit 0), and the service retried it as
// an outage for its whole start-up timeout. An empty one says it is empty.
func TestLintMalformedBrokerURL(t *testing.T) {
	const pw = "Pw-s3cret"
	for _, tc := range []struct {
		typ, env, want string
	}{
		{"rabbit", "STREAM_RABBIT_BINDER_URI=amqp://u:" + pw + "@127.0.0.1:35672:99/vh", "host holds a colon"},
		{"rabbit", "STREAM_RABBIT_BINDER_URI=", "is empty"},
		{"redis", "STREAM_REDIS_BINDER_URL=redis://u:" + pw + "@127.0.0.1:36379:99/0", "host holds a colon"},
		{"redis", "STREAM_REDIS_BINDER_URL=", "is empty"},
		{"nats", "STREAM_NATS_BINDER_SERVERS=nats://u:" + pw + "@127.0.0.1:34222:99", "too many colons"},
		// A password holding an unencoded '/': read as host "guest",
		// port 12345, the rest in the path; lint passed, and the send's
		// dial error showed "12345/<rest>".
		{"rabbit", "STREAM_RABBIT_BINDER_URI=amqp://guest:12345/" + pw + "@127.0.0.1", "an '@' after the host"},
		{"nats", "STREAM_NATS_BINDER_SERVERS=nats://u:12345/" + pw + "@127.0.0.1", "an '@' after the host"},
		{"redis", "STREAM_REDIS_BINDER_URL=redis://u:12345/" + pw + "@127.0.0.1/0", "an '@' after the host"},
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": "stream:\n  default-binder: " + tc.typ + "\n  bindings:\n    work-in-0:\n      group: g\n"})
		r := runIn(t, dir, []string{tc.env}, "lint")
		name, _, _ := strings.Cut(tc.env, "=")
		if r.code != exitFailure || !strings.Contains(r.stdout, name) || !strings.Contains(r.stdout, tc.want) || strings.Contains(r.stdout+r.stderr, pw) {
			t.Errorf("%s: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 1 and the problem at %s saying %q, without the password", tc.env, r.code, r.stdout, r.stderr, name, tc.want)
		}
	}
}
