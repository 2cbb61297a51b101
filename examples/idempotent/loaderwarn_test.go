package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoaderWarningNotLostOnEarlyFail: run ends between Load and NewApp
// (idempotency.FromConfig refuses purge-interval 0): the loader's warning
// about a key it ignored, left for NewApp to log, is still on stderr
// (run's deferred Loaded.LogWarnings).
func TestLoaderWarningNotLostOnEarlyFail(t *testing.T) {
	src, err := os.ReadFile("application.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mod := strings.Replace(string(src), "purge-interval: 1m", "purge-interval: 0", 1) +
		"spring:\n  kafka:\n    consumer:\n      group-id: x\n"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "application.yaml"), []byte(mod), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config-dir", dir}, []string{}, &out, &errOut); code == 0 {
		t.Fatalf("exit 0, want a failure (purge-interval 0); stderr:\n%s", errOut.String())
	}
	got := errOut.String()
	if !strings.Contains(got, "purge-interval") {
		t.Fatalf("failed, but not for purge-interval:\n%s", got)
	}
	if !strings.Contains(got, "configuration key ignored") || !strings.Contains(got, "spring.kafka.consumer.group-id") {
		t.Errorf("stderr lacks the loader's warning about spring.kafka.consumer.group-id:\n%s", got)
	}
}
