package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestDLQReplaySkipsHeadersOnly: a dead letter whose payload was dropped
// to fit dead-letter-max-size is not replayed (a note says why, the
// summary counts it) and stays. Replay sent its empty copy and removed
// it: the copy failed to decode, and its new dead letter pointed at the
// copy, the original's coordinates and error gone.
func TestDLQReplaySkipsHeadersOnly(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	file := filepath.Join(dir, "application.yaml")
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	small := strings.Replace(string(yaml), "key-prefix: ${PREFIX}", "key-prefix: ${PREFIX}\n        dead-letter-max-size: 2048", 1)
	if err := os.WriteFile(file, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startDLQApp(t, dir, env, opt)
	a.send(t, "c-1", job{"big", strings.Repeat("r", 3000)})
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	show := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "show", "1", "--binding", "work-in-0")
	if !strings.Contains(show.stdout, stream.HeaderPayloadSize+": ") || !strings.Contains(show.stdout, "payload (0 bytes)") {
		t.Fatalf("not a headers-only dead letter:\n%s", show.stdout)
	}
	for _, args := range [][]string{{"--dry-run"}, nil} {
		r := runWith(t, &runEnv{env: env, dir: dir}, append([]string{"dlq", "replay", "--binding", "work-in-0"}, args...)...)
		if r.code != exitOK || !strings.Contains(r.stdout, " 0 dead letters of work-in-0") || !strings.Contains(r.stdout, "1 without payload (headers-only), not replayed") ||
			!strings.Contains(r.stderr, "skipped: its payload (") {
			t.Errorf("replay %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	if n := depth(); n != 1 {
		t.Errorf("after replay: %d dead letters, want the headers-only one kept", n)
	}
	after := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "show", "1", "--binding", "work-in-0")
	if after.stdout != show.stdout {
		t.Errorf("the dead letter changed:\nbefore %s\nafter %s", show.stdout, after.stdout)
	}
	select {
	case m := <-a.back:
		t.Errorf("a replayed copy arrived: %+v", m)
	default:
	}
}
