package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// strictYAML has a warning --strict counts (a Spring Boot key ignored, line
// 4), a warning about a file it does not count (line 14) and, with
// definition "" and two functions' bindings, an error (line 5).
func strictYAML(ca, definition string) string {
	return `spring:
  kafka:
    consumer:
      group-id: x
stream:
  function:
    definition: ` + definition + `
  default-binder: memory
  binders:
    rab:
      type: rabbit
      environment:
        tls:
          ca-file: ` + ca + `
  bindings:
    work-in-0:
      group: g
    other-in-0:
      binder: rab
      group: g
`
}

const (
	strictIgnored     = "spring.kafka.consumer.group-id: ignored: the consumer group is the binding's group (stream.bindings.<b>.group), as in SCSt"
	strictIgnoredText = "application.yaml:4: spring.kafka.consumer.group-id: warning: ignored: the consumer group is the binding's group (stream.bindings.<b>.group), as in SCSt"
)

// --strict says why it failed: one summary line on stderr after the
// problems; without --strict, or with nothing it counts, there is none.
func TestLintStrictSummary(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "nowhere", "ca.pem")
	fileLine := "application.yaml:14: stream.binders.rab.environment.tls.ca-file: warning: file " + ca + ": cannot be read: no such file or directory" + fileHintText
	dir := writeFiles(t, map[string]string{"application.yaml": strictYAML(ca, "work;other")})

	r := runIn(t, dir, nil, "lint")
	if r.code != exitOK || r.stderr != "" {
		t.Errorf("lint: exit status %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	assertLines(t, r.lines(), []string{strictIgnoredText, fileLine})

	r = runIn(t, dir, nil, "lint", "--strict")
	if r.code != exitFailure {
		t.Errorf("--strict: exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), []string{strictIgnoredText, fileLine})
	if want := "streambind lint: 1 warning (--strict); 1 warning about files not counted (errors with --check-files)\n"; r.stderr != want {
		t.Errorf("--strict: stderr %q, want %q", r.stderr, want)
	}

	// An error as well: both counted.
	dir = writeFiles(t, map[string]string{"application.yaml": strictYAML(ca, `""`)})
	r = runIn(t, dir, nil, "lint", "--strict")
	if want := "streambind lint: 1 error, 1 warning (--strict); 1 warning about files not counted (errors with --check-files)\n"; r.code != exitFailure || r.stderr != want {
		t.Errorf("--strict with an error: exit status %d, stderr %q, want 1 and %q", r.code, r.stderr, want)
	}
	// An error and no warning --strict counts: the error says why.
	r = runIn(t, dir, nil, "lint")
	if r.code != exitFailure || r.stderr != "" {
		t.Errorf("lint with an error: exit status %d, stderr %q, want 1 and nothing", r.code, r.stderr)
	}

	// Only the file's warning: --strict passes, quietly.
	dir = writeFiles(t, map[string]string{"application.yaml": strings.Replace(strictYAML(ca, "work;other"), "group-id: x", "{}", 1)})
	r = runIn(t, dir, nil, "lint", "--strict")
	if r.code != exitOK || r.stderr != "" {
		t.Errorf("--strict, a file's warning only: exit status %d, stdout %q, stderr %q; want 0 and no summary", r.code, r.stdout, r.stderr)
	}
}

// In GitHub format the warnings that fail a --strict run are error
// annotations (a failing job must not show only warnings), titled as
// warnings counted by --strict; a file's warning stays a warning.
func TestLintStrictGitHub(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "nowhere", "ca.pem")
	dir := writeFiles(t, map[string]string{"application.yaml": strictYAML(ca, "work;other")})
	fileAnn := "::warning file=application.yaml,line=14::stream.binders.rab.environment.tls.ca-file: file " + ghData(ca) + ": cannot be read: no such file or directory" + fileHintText

	r := runIn(t, dir, nil, "lint", "--format", "github")
	if r.code != exitOK || r.stderr != "" {
		t.Errorf("github: exit status %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	assertLines(t, r.lines(), []string{"::warning file=application.yaml,line=4::" + strictIgnored, fileAnn})

	r = runIn(t, dir, nil, "lint", "--format", "github", "--strict")
	if r.code != exitFailure || !strings.HasPrefix(r.stderr, "streambind lint: 1 warning (--strict)") {
		t.Errorf("github --strict: exit status %d, stderr %q; want 1 and the summary", r.code, r.stderr)
	}
	assertLines(t, r.lines(), []string{"::error file=application.yaml,line=4,title=warning (--strict)::" + strictIgnored, fileAnn})

	// --check-files: the file's problem is an error, as without --strict.
	r = runIn(t, dir, nil, "lint", "--format", "github", "--strict", "--check-files")
	if r.code != exitFailure || r.stderr != "streambind lint: 1 error, 1 warning (--strict)\n" {
		t.Errorf("github --strict --check-files: exit status %d, stderr %q", r.code, r.stderr)
	}
	assertLines(t, r.lines(), []string{
		"::error file=application.yaml,line=4,title=warning (--strict)::" + strictIgnored,
		"::error file=application.yaml,line=14::stream.binders.rab.environment.tls.ca-file: file " + ghData(ca) + ": cannot be read: no such file or directory",
	})
}

// An annotation of a problem set by an environment variable has no file;
// failing under --strict it is an error with the title alone.
func TestProblemGitHubLevels(t *testing.T) {
	env := problem{loc: location{env: "X_Y"}, key: "k", msg: "m", warning: true}
	for _, tc := range []struct {
		p       problem
		failing bool
		want    string
	}{
		{env, false, "::warning::env X_Y: k: m"},
		{env, true, "::error title=warning (--strict)::env X_Y: k: m"},
		{problem{loc: location{env: "X_Y"}, msg: "m"}, true, "::error::env X_Y: m"},
		{problem{loc: location{file: "a,b.yaml", line: 3}, key: "k", msg: "50%", warning: true}, true, "::error file=a%2Cb.yaml,line=3,title=warning (--strict)::k: 50%25"},
		{problem{loc: location{file: "a.yaml"}, msg: "m", warning: true}, false, "::warning file=a.yaml::m"},
	} {
		if got := tc.p.github(tc.failing); got != tc.want {
			t.Errorf("github(%v) = %q, want %q", tc.failing, got, tc.want)
		}
	}
}
