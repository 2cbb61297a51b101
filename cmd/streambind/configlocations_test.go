package main

import (
	"strings"
	"testing"
)

// lint read only <dir>/application.*: a service whose deployment override
// is config/application.yaml (Spring Boot's default locations) was
// refused ("no application.yaml ... in this directory") or checked
// without it. Problems name the file, relative to the service's
// directory.
func TestLintSearchesConfigDirectories(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/config/application.yaml": "stream:\n  default-binder: memory\n  bindings:\n    work-in-0: {grup: g}\n",
		"env/application.yaml":        "stream:\n  default-binder: memory\n",
		"env/override/app.yaml":       "stream:\n  bindings:\n    work-in-0: {grup: g}\n",
	})
	r := runIn(t, dir, nil, "lint", "svc")
	if r.code == exitOK || !strings.Contains(r.stdout+r.stderr, "svc/config/application.yaml:4") {
		t.Errorf("config/ only: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, []string{"SPRING_CONFIG_ADDITIONAL_LOCATION=override/app.yaml"}, "lint", "env")
	if r.code == exitOK || !strings.Contains(r.stdout+r.stderr, "env/override/app.yaml:3") {
		t.Errorf("additional location: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, []string{"SPRING_CONFIG_LOCATION=missing/"}, "lint", "env")
	if r.code == exitOK || !strings.Contains(r.stdout+r.stderr, `"missing/": no such directory`) || !strings.Contains(r.stdout+r.stderr, "SPRING_CONFIG_LOCATION") {
		t.Errorf("missing location: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}
