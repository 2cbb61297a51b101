package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/streambind/streambind/redact"
)

// GoRedisLogger routes go-redis's own log lines (a failed dial of its
// pool, "redis: connection pool: failed to dial after 1 attempts: …") to
// a slog logger, at WARN, with secrets removed ([redact.String]). go-redis
// (v9.23) has no logger per client, only a process-wide one that writes
// to stderr, unstructured, by default; the binder does not set it (that
// would change every go-redis client of the process, and a logger the app
// set). An app that wants those lines in its own log sets it once, in
// main:
//
//	goredis.SetLogger(redisbinder.GoRedisLogger{Logger: slog.Default()})
//
// (logging.Disable from go-redis/v9/logging drops them instead, as
// streambind's CLI does: the binder's errors and health say the same.)
type GoRedisLogger struct {
	// Logger receives the lines; nil: slog.Default().
	Logger *slog.Logger
}

// Printf implements go-redis's logging interface.
func (g GoRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l := g.Logger
	if l == nil {
		l = slog.Default()
	}
	if !l.Enabled(ctx, slog.LevelWarn) {
		return
	}
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	l.WarnContext(ctx, "redis: go-redis: "+redact.String(msg), "source", "go-redis")
}
