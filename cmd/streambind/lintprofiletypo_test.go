package main

import (
	"strings"
	"testing"
)

// A misspelt active profile (STREAM_PROFILES_ACTIVE=rabit beside
// application-rabbit.yaml) is a lint warning with the app's text: the
// profile matches no file and no document, with the did-you-mean; the run
// passes (Spring Boot runs with an unknown profile), and --strict fails
// on it, as on any warning but a file's.
func TestLintProfileTypoStrict(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":        "stream:\n  function:\n    definition: work\n  default-binder: memory\n",
		"application-rabbit.yaml": "stream:\n  default-binder: memory\n",
	})
	env := []string{"STREAM_PROFILES_ACTIVE=rabit"}
	want := `env STREAM_PROFILES_ACTIVE: spring.profiles.active: warning: profile "rabit" is active but matches no configuration: no profile file (looked for application-rabit.yaml, application-rabit.yml, application-rabit.properties) and no document with spring.config.activate.on-profile (or spring.profiles) matching it; did you mean "rabbit"?`
	r := runIn(t, dir, env, "lint")
	if r.code != exitOK || !strings.Contains(r.stdout, want) {
		t.Errorf("lint: exit %d, stdout %q; want 0 and %q", r.code, r.stdout, want)
	}
	r = runIn(t, dir, env, "lint", "--strict")
	if r.code != exitFailure || !strings.Contains(r.stdout, want) || !strings.Contains(r.stderr, "1 warning (--strict)") {
		t.Errorf("lint --strict: exit %d, stdout %q, stderr %q; want 1 and %q", r.code, r.stdout, r.stderr, want)
	}
}

// An unknown key under management.* is reported at its line with the key
// as the file writes it (management.FromConfig, as the app reports it),
// not lower-cased.
func TestLintManagementKeyAsWritten(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": "stream:\n  function:\n    definition: work\n  default-binder: memory\nmanagement:\n  server:\n    reserveStock-in-0:\n      binder: rabbit\n"})
	r := runIn(t, dir, nil, "lint")
	want := "application.yaml:8: management.server.reserveStock-in-0.binder: unknown key"
	if r.code != exitFailure || !strings.Contains(r.stdout, want) {
		t.Errorf("lint: exit %d, stdout %q; want 1 and %q", r.code, r.stdout, want)
	}
}
