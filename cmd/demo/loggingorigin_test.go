package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The trial's logging.levl failed start-up with "telemetry configuration:
// logging.levl: unknown key": no file:line, no did-you-mean. The demo
// decodes logging.* with telemetry.FromConfig and the loaded
// configuration's Problem, as it does management.*: the key, where it is
// set and the key it misspells.
func TestDemoLoggingProblemHasOrigin(t *testing.T) {
	src, err := os.ReadFile("../../application.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const from, to = "logging:\n  level: error", "logging:\n  levl: error"
	if !strings.Contains(string(src), from) {
		t.Fatalf("application.yaml has no %q to misspell", from)
	}
	mod := strings.Replace(string(src), from, to, 1)
	line := strings.Count(mod[:strings.Index(mod, "levl:")], "\n") + 1
	cfg := filepath.Join(t.TempDir(), "application.yaml")
	if err := os.WriteFile(cfg, []byte(mod), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STREAM_PROFILES_ACTIVE", "")
	t.Setenv("SPRING_PROFILES_ACTIVE", "")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", cfg}, &out, &errOut, time.Now())
	if code == 0 {
		t.Fatalf("exit 0, want a failure (logging.levl); stderr:\n%s", errOut.String())
	}
	want := "logging.levl (" + cfg + ":" + strconv.Itoa(line) + "): unknown key; did you mean level?"
	if got := errOut.String(); !strings.Contains(got, want) {
		t.Errorf("stderr lacks %q:\n%s", want, got)
	}
}
