package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// TestDLQVerboseLogsEveryAttempt: docs/cli.md says a dlq subcommand that
// cannot reach the broker "says once that it retries (--verbose logs every
// attempt)"; with NATS or Kafka, whose binders log nothing of an attempt,
// -v printed the same two lines as without it. Every retried attempt is a
// DEBUG line.
func TestDLQVerboseLogsEveryAttempt(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // refused from now on
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: nats")})
	env := []string{"STREAM_NATS_BINDER_SERVERS=nats://" + addr}
	const attempt = `level=DEBUG msg="binder unavailable; retrying" binder=nats error=`
	r := runIn(t, dir, env, "dlq", "ls", "--binding", "work-in-0", "--connect-timeout", "2s", "-v")
	if r.code != exitFailure || strings.Count(r.stderr, attempt) < 2 || strings.Count(r.stderr, "is unavailable; retrying for up to") != 1 {
		t.Errorf("-v: exit %d, stderr %q; want a DEBUG line per attempt", r.code, r.stderr)
	}
	r = runIn(t, dir, env, "dlq", "ls", "--binding", "work-in-0", "--connect-timeout", "1s")
	if r.code != exitFailure || strings.Contains(r.stderr, "level=DEBUG") || strings.Count(r.stderr, "\n") != 2 {
		t.Errorf("without -v: exit %d, stderr %q; want 2 lines", r.code, r.stderr)
	}
}
