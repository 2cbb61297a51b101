package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Failing regressions for the CLI with spring.config.import (9bb4897),
// written by an adversarial review. Each fails on the code as committed.

// A config tree's secret must not be printed by `streambind lint` or
// `streambind config`, whatever its text. A mounted password holding "${"
// was once read as a placeholder (Spring Boot takes a tree's values
// literally: ConfigTreePropertySource's values are not Strings, so
// PropertySourcesPlaceholdersResolver leaves them alone), and an
// unterminated-placeholder problem, since gone (a "${" with no closing
// '}' is text since 9cf88a0, as in Spring Framework 6.2), quoted the
// password from "${" on, 12 of its 14 characters, on stderr of both
// commands: Secrets.String hides only the whole value.
// Expected: no output of either command holds the secret or a part of it.
func TestBreakCLIConfigTreeSecretFragmentNotPrinted(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml":              "spring.config.import: configtree:tree/\nstream.function.definition: work\n",
		"svc/tree/spring.rabbitmq.password": "Xy${9s8d7f6g5h\n",
	})
	for _, args := range [][]string{{"lint", "svc"}, {"config", "svc"}, {"config", "--format", "json", "svc"}} {
		r := runIn(t, dir, nil, args...)
		for _, line := range strings.Split(r.stdout+"\n"+r.stderr, "\n") {
			if strings.Contains(line, "9s8d7f6g5h") {
				t.Errorf("streambind %s prints the configtree secret's text: %s", strings.Join(args, " "), line)
			}
		}
	}
}

// `streambind graph` lists a service's files by their base name joined
// to the service's directory (s.file(fileName(f))): an imported
// conf/application.yaml (a directory import, conf/) is shown as
// svc/application.yaml a second time, and a file imported from outside
// the service's directory (../shared/common.yaml) as svc/common.yaml,
// a file that does not exist. (9bb4897 taught service.file absolute
// names, but graph strips the directory before it gets there.)
// Expected: svc/application.yaml, svc/conf/application.yaml and the
// shared file's absolute path, as `streambind config` shows origins.
func TestBreakGraphListsImportedFilesByTheirPaths(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml":      "spring.config.import: conf/, ../shared/common.yaml\nstream.function.definition: work\n",
		"svc/conf/application.yaml": "stream.bindings.work-in-0.group: g\n",
		"shared/common.yaml":        "stream.bindings.work-in-0.destination: jobs\n",
	})
	r := runIn(t, dir, nil, "graph", "--format", "json", "svc")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var g struct {
		Services []struct {
			Files []string `json:"files"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil || len(g.Services) != 1 {
		t.Fatalf("%v in %q", err, r.stdout)
	}
	shared := filepath.Join(dir, "shared", "common.yaml")
	if real, err := filepath.EvalSymlinks(shared); err == nil {
		shared = real
	}
	want := []string{"svc/application.yaml", "svc/conf/application.yaml", shared}
	got := g.Services[0].Files
	for i := range got {
		if filepath.IsAbs(got[i]) {
			if real, err := filepath.EvalSymlinks(got[i]); err == nil {
				got[i] = real
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	for _, f := range got {
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("graph lists a file that does not exist: %s", f)
		}
	}
}

// `streambind config` types a value written with a placeholder
// (${FLAG:true}) as the app reads it (the boolean true). It finds the
// file of an origin by base name (placeholderIndex.keysOf compares
// filepath.Base), so with conf/ imported (whose application.yaml has the
// base file's name) it reads the wrong file's line 2 and shows app.flag
// as the string "true". Without the import it is true.
// Expected: app.flag is true (a JSON boolean), app.other "true" (the
// quoted YAML string).
func TestBreakConfigPlaceholderTypingReadsTheOriginsFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml":      "spring.config.import: conf/\napp.flag: ${FLAG:true}\nstream.function.definition: work\n",
		"svc/conf/application.yaml": "x: 1\napp.other: \"true\"\n",
	})
	m, r := configEntries(t, dir, nil, "svc")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if v := m["app.flag"].Value; v != true {
		t.Errorf("app.flag = %#v (%s), want true: its value came from a placeholder", v, m["app.flag"].Origin)
	}
	if v := m["app.other"].Value; v != "true" {
		t.Errorf("app.other = %#v, want the string \"true\"", v)
	}
}
