package stream_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// An app run from a directory without application.yaml (the trial's
// "is empty but 4 functions are registered") is told that no
// configuration file was found, and where the loader looked; with a file
// the problem is as before. The missing file is no problem by itself (as
// in Spring Boot): Load succeeds.
func TestNoConfigFileNamedInProblems(t *testing.T) {
	dir := t.TempDir()
	l, err := config.Load(config.Options{Dir: dir, Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	lookedIn := "no configuration file was found (looked for application.yaml, application.yml or application.properties in " + filepath.ToSlash(dir) + "/, " + filepath.ToSlash(dir) + "/config/ or " + filepath.ToSlash(dir) + "/config/*/)"
	_, err = stream.NewApp(l.Stream, twoConsumers(), typesOpts("memory", "rabbit")...)
	want := "stream.function.definition: is empty but 2 functions are registered (a, b): say which to bind; " + lookedIn
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("NewApp: %v\nwant: %s", err, want)
	}
	// The definition from the environment: no default binder among two.
	l, err = config.Load(config.Options{Dir: dir, Env: []string{"STREAM_FUNCTION_DEFINITION=a"}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	_, err = stream.NewApp(l.Stream, twoConsumers(), typesOpts("memory", "rabbit")...)
	ces := configErrs(t, err)
	if len(ces) != 1 || ces[0].Path != "stream.default-binder" || !strings.HasSuffix(ces[0].Msg, "(the binding that names none: a-in-0); "+lookedIn) {
		t.Errorf("NewApp: %v\nwant at stream.default-binder: ...; %s", err, lookedIn)
	}

	if err := os.WriteFile(filepath.Join(dir, "application.yaml"), []byte("stream:\n  default-binder: memory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err = config.Load(config.Options{Dir: dir, Env: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	_, err = stream.NewApp(l.Stream, twoConsumers(), typesOpts("memory", "rabbit")...)
	if err == nil || strings.Contains(err.Error(), "no configuration file") || !strings.Contains(err.Error(), "is empty but 2 functions are registered") {
		t.Errorf("with a file: %v", err)
	}
}
