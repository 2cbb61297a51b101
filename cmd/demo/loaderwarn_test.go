package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoaderWarningNotLostOnEarlyFail: the demo fails after Load but
// before NewApp (a bad --log-level): the loader's warning about a key it
// ignored, which it leaves for NewApp to log, is still on stderr
// (buildApp's deferred Loaded.LogWarnings).
func TestLoaderWarningNotLostOnEarlyFail(t *testing.T) {
	src, err := os.ReadFile("../../application.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "spring:\n") {
		t.Fatal("application.yaml has no top-level spring: section to add the key to")
	}
	cfg := filepath.Join(t.TempDir(), "application.yaml")
	mod := strings.Replace(string(src), "spring:\n", "spring:\n  kafka:\n    consumer:\n      group-id: x\n", 1)
	if err := os.WriteFile(cfg, []byte(mod), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STREAM_PROFILES_ACTIVE", "")
	t.Setenv("SPRING_PROFILES_ACTIVE", "")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", cfg, "--log-level", "loud"}, &out, &errOut, time.Now())
	if code == 0 {
		t.Fatalf("exit 0, want a failure (bad --log-level); stderr:\n%s", errOut.String())
	}
	if got := errOut.String(); !strings.Contains(got, "configuration key ignored") || !strings.Contains(got, "spring.kafka.consumer.group-id") {
		t.Errorf("stderr lacks the loader's warning about spring.kafka.consumer.group-id:\n%s", got)
	}
}
