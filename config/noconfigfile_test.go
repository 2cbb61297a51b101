package config

import (
	"strings"
	"testing"
)

// Stream.NoConfigFile says that no configuration file was found and
// where Load looked (the locations SPRING_CONFIG_NAME chose, when it
// did); empty when a file was read or Data given. No file is no problem
// by itself: Load succeeds.
func TestNoConfigFileNote(t *testing.T) {
	dir := t.TempDir()
	l := mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_NAME=orders"}})
	if want := "no configuration file was found (looked for orders.yaml, orders.yml or orders.properties (env SPRING_CONFIG_NAME) in ./, config/ or config/*/"; !strings.HasPrefix(l.Stream.NoConfigFile, want) {
		t.Errorf("NoConfigFile = %q, want it to start %q", l.Stream.NoConfigFile, want)
	}
	if l := mustLoad(t, Options{Data: []byte("stream:\n  default-binder: memory\n"), Env: []string{}}); l.Stream.NoConfigFile != "" {
		t.Errorf("with Data: NoConfigFile = %q", l.Stream.NoConfigFile)
	}
}
