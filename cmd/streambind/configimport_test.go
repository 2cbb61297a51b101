package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// streambind config on an SCSt service that imports files and groups its
// profiles: the imported keys are shown with their own file and line
// (inside the service's directory or outside it), a profile group's
// members' files apply, and a configtree secret is never printed.
func TestConfigImportsAndProfileGroups(t *testing.T) {
	outside := t.TempDir()
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml": "spring:\n  profiles:\n    group:\n      production: [kafka]\n  config:\n    import:\n      - extra.yaml\n      - " +
			filepath.Join(outside, "shared.yaml") + "\n      - optional:configtree:secrets/\n" +
			"stream:\n  function:\n    definition: work\n",
		"svc/extra.yaml":                "stream.bindings.work-in-0.group: workers\n",
		"svc/application-kafka.yaml":    "stream.default-binder: kafka\n",
		"svc/secrets/myapp.db.password": "hunter2-secret\n",
	})
	if err := os.WriteFile(filepath.Join(outside, "shared.yaml"), []byte("stream.bindings.work-in-0.destination: jobs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, r := configEntries(t, dir, nil, "--profile", "production", "svc")
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	for key, want := range map[string]configEntry{
		"stream.bindings.work-in-0.group":       {Value: "workers", Origin: "svc/extra.yaml:1"},
		"stream.bindings.work-in-0.destination": {Value: "jobs", Origin: filepath.Join(outside, "shared.yaml") + ":1"},
		"stream.default-binder":                 {Value: "kafka", Origin: "svc/application-kafka.yaml:1"},
	} {
		if got := m[key]; got.Value != want.Value || got.Origin != want.Origin {
			t.Errorf("%s = %v (%s), want %v (%s)", key, got.Value, got.Origin, want.Value, want.Origin)
		}
	}
	if strings.Contains(r.stdout, "hunter2") || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("secret shown:\n%s\n%s", r.stdout, r.stderr)
	}
	if e, ok := m["myapp.db.password"]; !ok || e.Origin != "svc/secrets/myapp.db.password:1" {
		t.Errorf("myapp.db.password: %+v", e)
	}
}
