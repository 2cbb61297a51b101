package redis

import (
	"strings"
	"testing"
)

// TestTLSCAIsUnknownWithCAFileVariable: a file's tls.ca, a key the redis
// binder does not accept, is reported as unknown when a variable sets
// tls.ca-file. Before, binder/props listed ca as an alias of ca-file for
// redis, so the loader dropped the file's ca as the variable's loser and
// the mistyped key was silently ignored.
func TestTLSCAIsUnknownWithCAFileVariable(t *testing.T) {
	_, err := envSettings(t, envBase+`      redis:
        binder: { tls: { ca: /etc/hosts } }
`, "STREAM_REDIS_BINDER_TLS_CA_FILE=/etc/hosts")
	if err == nil || !strings.Contains(err.Error(), "tls.ca") || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("want tls.ca: unknown key, got %v", err)
	}
}
