package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemoOnKafka runs the shop with --profile kafka on an embedded kfake
// cluster (KAFKA_BROKERS cleared so that the demo starts one).
func TestDemoOnKafka(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", "../../application.yaml", "--profile", "kafka",
		"--orders", "300", "--poison-every", "10", "--timeout", "60s"}, &out, &errOut, time.Now())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	m := summaryRE.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line is not the summary: %q", last)
	}
	// produced, inventory, shipping, payment, notified, dlq, lost
	want := []string{"300", "300", "300", "270", "270", "30", "0"}
	for i, w := range want {
		if m[i+1] != w {
			t.Errorf("summary field %d = %s, want %s (%s)", i+1, m[i+1], w, last)
		}
	}
	t.Logf("%s", last)
}
