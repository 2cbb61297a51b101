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

// result is what a run of the command printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// lines returns stdout's lines (none for empty output).
func (r result) lines() []string {
	if r.stdout == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
}

// runIn runs the command in process in dir with environment env (nil:
// none) and no input.
func runIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runWith(t, &runEnv{dir: dir, env: env}, args...)
}

func runWith(t *testing.T, e *runEnv, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e.stdout, e.stderr = &stdout, &stderr
	if e.stdin == nil {
		e.stdin = strings.NewReader("")
	}
	if e.env == nil {
		e.env = []string{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, e)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// writeFiles writes files (name → content) under a new temporary
// directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func assertLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUsageAndHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		// in is text expected on stdout (help) or stderr (errors).
		stdout, stderr string
	}{
		// Not nil: cobra reads os.Args (the test binary's flags) for nil.
		{args: []string{}, code: exitUsage, stderr: "Available Commands:"},
		{args: []string{"--help"}, code: exitOK, stdout: "Examples:"},
		{args: []string{"nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{args: []string{"lint", "--help"}, code: exitOK, stdout: "streambind lint --format github"},
		{args: []string{"lint", "--nope"}, code: exitUsage, stderr: "unknown flag: --nope"},
		{args: []string{"lint", "--format", "xml"}, code: exitUsage, stderr: `--format: want text or github, got "xml"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runIn(t, t.TempDir(), nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if tc.stdout != "" && !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", r.stdout, tc.stdout)
			}
			if tc.stderr != "" && !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.stderr)
			}
		})
	}
}
