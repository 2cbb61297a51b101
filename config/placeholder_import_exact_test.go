package config

import (
	"os"
	"path/filepath"
	"testing"
)

// A placeholder in a spring.config.import location follows the rule of
// any other value's: a name that is no Spring property name (${CONF_DIR},
// ${confDir}) is looked up by its exact name, never lower-cased to match
// conf-dir:. The locations kept the relaxed lookup, so that the same
// placeholder imported sub/a.yaml but gave its default in a value.
func TestImportPlaceholderNotAPropertyNameIsExact(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"sub/a.yaml": "froma: a\n", "sub/b.yaml": "fromb: b\n", "sub/c.yaml": "fromc: c\n", "sub/d.yaml": "fromd: d\n",
		"application.yaml": "conf-dir: sub\nMyDir: sub\nspring:\n  config:\n    import:\n" +
			"      - optional:file:${confDir:none}/a.yaml\n" +
			"      - optional:file:${CONF_DIR:none}/b.yaml\n" +
			"      - optional:file:${conf-dir}/c.yaml\n" +
			"      - optional:file:${MyDir}/d.yaml\n" +
			"x1: ${confDir:none}\nx2: ${CONF_DIR:none}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := mustLoad(t, Options{Dir: dir, Env: []string{}, Logger: discard})
	if l.Raw["x1"] != "none" || l.Raw["x2"] != "none" {
		t.Fatalf("x1 = %v, x2 = %v; want none (exact names)", l.Raw["x1"], l.Raw["x2"])
	}
	for k, want := range map[string]bool{"froma": false, "fromb": false, "fromc": true, "fromd": true} {
		if _, ok := l.Raw[k]; ok != want {
			t.Errorf("%s read: %v, want %v (files %v)", k, ok, want, l.Files)
		}
	}
	// The variables Spring's SystemEnvironmentPropertySource tries for
	// the name: confDir is CONFDIR, not CONF_DIR.
	l = mustLoad(t, Options{Dir: dir, Env: []string{"CONFDIR=sub"}, Logger: discard})
	if _, ok := l.Raw["froma"]; !ok {
		t.Errorf("${confDir} with CONFDIR=sub did not import sub/a.yaml (files %v)", l.Files)
	}
}
