package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
)

// TestGoRedisLogger: go-redis's own lines reach the slog logger at WARN,
// without the password of a URL they may quote.
func TestGoRedisLogger(t *testing.T) {
	var buf bytes.Buffer
	var l interface {
		Printf(context.Context, string, ...any)
	} = redisbinder.GoRedisLogger{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	// It is what goredis.SetLogger takes (compiled, not called: the test
	// does not change the process-wide logger).
	_ = func() { goredis.SetLogger(redisbinder.GoRedisLogger{}) }
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, "dial redis://u:Zq-secret-4411@h:1: refused")
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "connection pool: failed to dial after 1 attempts") {
		t.Errorf("log %q", out)
	}
	if strings.Contains(out, "Zq-secret-4411") {
		t.Errorf("log shows the password: %q", out)
	}
}
