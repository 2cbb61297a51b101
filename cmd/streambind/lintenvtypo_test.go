package main

import (
	"strings"
	"testing"
)

// Configured by variables only, a typo'd top-level stream key
// (STREAM_SHUTDOWN_TIMOUT) passed lint --strict and left shutdown-timeout
// at 10s, and Boot's LOGGING_FILE_NAME passed without a word: the first
// is a problem with a did-you-mean, the second a warning that --strict
// counts, as the same key in a file is. LOGGING_FORMAT=JSON is accepted.
func TestLintEnvTypoAndBootLogging(t *testing.T) {
	r := runIn(t, "testdata/lint", []string{"STREAM_SHUTDOWN_TIMOUT=2s"}, "lint", "--strict", "valid")
	if want := "env STREAM_SHUTDOWN_TIMOUT: stream.shutdown-timout: STREAM_SHUTDOWN_TIMOUT matches no configuration key; did you mean STREAM_SHUTDOWN_TIMEOUT?\n"; r.code != exitFailure || r.stdout != want {
		t.Errorf("STREAM_SHUTDOWN_TIMOUT: exit status %d, stdout %q; want %d, %q", r.code, r.stdout, exitFailure, want)
	}
	const warn = "logging.file.name: warning: Spring Boot logging setting ignored: streambind logs to stderr through log/slog; its keys are logging.level and logging.format (text or json)\n"
	r = runIn(t, "testdata/lint", []string{"LOGGING_FILE_NAME=/tmp/x.log"}, "lint", "valid")
	if r.code != exitOK || r.stdout != "env LOGGING_FILE_NAME: "+warn {
		t.Errorf("LOGGING_FILE_NAME: exit status %d, stdout %q; want 0 and the warning", r.code, r.stdout)
	}
	r = runIn(t, "testdata/lint", []string{"LOGGING_FILE_NAME=/tmp/x.log"}, "lint", "--strict", "valid")
	if r.code != exitFailure || !strings.Contains(r.stderr, "1 warning (--strict)") {
		t.Errorf("LOGGING_FILE_NAME, --strict: exit status %d, stderr %q; want %d", r.code, r.stderr, exitFailure)
	}
	// The file's form, counted alike.
	dir := writeFiles(t, map[string]string{"application.yaml": "logging:\n  file:\n    name: /tmp/x.log\n"})
	r = runIn(t, dir, nil, "lint", "--strict")
	if r.code != exitFailure || !strings.HasSuffix(r.stdout, warn) {
		t.Errorf("file, --strict: exit status %d, stdout %q; want %d and the warning", r.code, r.stdout, exitFailure)
	}
	r = runIn(t, "testdata/lint", []string{"LOGGING_FORMAT=JSON", "LOGGING_LEVEL=INFO"}, "lint", "--strict", "valid")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("LOGGING_FORMAT=JSON: exit status %d, stdout %q; want 0 and nothing", r.code, r.stdout)
	}
}
