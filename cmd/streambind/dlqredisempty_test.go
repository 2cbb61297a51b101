package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A Redis dead-letter stream is made by its first entry, where the other
// binders provision their dead-letter queue when the binding binds. So
// that dlq ls of a running app that has dead-lettered nothing says 0 dead
// letters (exit 0) on Redis too, the store takes the binding's group on
// its destination's stream as the app being there; before the app ever
// ran (or with another key prefix) the stream is still reported missing.
func TestDLQNothingDeadLetteredRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	// Without the dead-letter reader (audit-in-0), whose group on the
	// dead-letter stream would make the stream.
	file := filepath.Join(dir, "application.yaml")
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(yaml), "definition: work;audit", "definition: work", 1)
	y = y[:strings.Index(y, "    audit-in-0:")]
	if err := os.WriteFile(file, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq"}, args...)...)
	}
	if r := run("ls", "--binding", "work-in-0"); r.code != exitFailure || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("ls before the app ran: exit %d, stdout %q, stderr %q; want the stream reported missing", r.code, r.stdout, r.stderr)
	}
	startDLQApp(t, dir, env, opt)
	// The stream as redis-cli names it: with the key-prefix (was the
	// destination's name alone, which XLEN does not find).
	var prefix string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PREFIX="); ok {
			prefix = v
		}
	}
	if r, want := run("ls", "--binding", "work-in-0"), "0 dead letters of work-in-0 in "+prefix+"error.work.g\n"; r.code != exitOK || r.stdout != want {
		t.Errorf("ls of a running app with nothing dead-lettered: exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	if r := run("replay", "--binding", "work-in-0"); r.code != exitOK || !strings.Contains(r.stdout, "replayed 0 dead letters") {
		t.Errorf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if d := depth(); d > 0 {
		t.Errorf("dead-letter stream holds %d entries", d)
	}
}
