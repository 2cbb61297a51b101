package main

import (
	"strings"
	"testing"
)

// TestLintBinderAliases: lint's verdict on two names of one binder
// setting (and on names that are not) is the same whether a binder is
// declared with its type or takes its name for one, a TLS key the binder
// does not accept stays an unknown key next to a variable's ca-file, and
// rabbit's host next to addresses is no "keep one" problem. Before:
// untyped maxlen with max-length exit 0 (typed 1), tls.ca silently
// dropped (exit 0), host with addresses exit 1.
func TestLintBinderAliases(t *testing.T) {
	const base = "stream:\n  default-binder: %s\n  bindings:\n    work-in-0:\n      group: g\n"
	for _, tc := range []struct {
		name, typ, extra string
		env              []string
		code             int
		want             string
	}{
		{"untyped", "redis", "  binders:\n    redis:\n      environment: { maxlen: 1, max-length: 2 }\n", nil, exitFailure, "keep one"},
		{"typed", "redis", "  binders:\n    redis:\n      type: redis\n      environment: { maxlen: 1, max-length: 2 }\n", nil, exitFailure, "keep one"},
		{"tls.ca", "redis", "  redis:\n    binder: { tls: { ca: /etc/hosts } }\n", []string{"STREAM_REDIS_BINDER_TLS_CA_FILE=/nonexistent/ca.pem"}, exitFailure, "unknown key"},
		{"rabbit host", "rabbit", "  rabbit:\n    binder: { addresses: '127.0.0.1:5672', host: 127.0.0.1 }\n", nil, exitOK, ""},
	} {
		yaml := strings.Replace(base, "%s", tc.typ, 1) + tc.extra
		dir := writeFiles(t, map[string]string{"application.yaml": yaml})
		r := runIn(t, dir, tc.env, "lint")
		if r.code != tc.code || !strings.Contains(r.stdout, tc.want) || tc.code == exitOK && strings.Contains(r.stdout, "keep one") {
			t.Errorf("%s: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and %q", tc.name, r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}
}
