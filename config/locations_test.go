package config

import (
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// quiet is Options with no environment but env and a discarding logger.
func quiet(dir string, env ...string) Options {
	return Options{Dir: dir, Env: append([]string{}, env...), Logger: slog.New(slog.DiscardHandler)}
}

// relFiles is l.Files relative to dir, with slashes.
func relFiles(t *testing.T, dir string, l *Loaded) []string {
	t.Helper()
	var out []string
	for _, f := range l.Files {
		r, err := filepath.Rel(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(r))
	}
	return out
}

// The loader read only <Dir>/application.*: a deployment's override in
// ./config/application.yaml (Spring Boot's default locations ./,
// ./config/, ./config/*/) was ignored without a word.
func TestLocationsDefaultConfigDirectories(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":              "a: root\nb: root\nc: root\nd: root\n",
		"config/application.yaml":       "# the deployment's overrides\nb: config\nc: config\nd: config\n",
		"config/x2/application.yaml":    "d: x2\n",
		"config/x1/application.yaml":    "c: x1\nd: x1\n",
		"config/..data/application.yml": "d: volume-link\n",
	})
	l := mustLoad(t, quiet(dir))
	for k, want := range map[string]string{"a": "root", "b": "config", "c": "x1", "d": "x2"} {
		if l.Raw[k] != want {
			t.Errorf("%s = %v, want %s", k, l.Raw[k], want)
		}
	}
	if o := l.Stream.Origins["b"]; o != "config/application.yaml:2" {
		t.Errorf("origin of b = %q", o)
	}
	if o := l.Stream.Origins["d"]; o != "config/x2/application.yaml:1" {
		t.Errorf("origin of d = %q", o)
	}
	want := []string{"application.yaml", "config/application.yaml", "config/x1/application.yaml", "config/x2/application.yaml"}
	if got := relFiles(t, dir, l); !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}

	// Only ./config/application.yaml: read (it was an empty configuration).
	dir = writeTree(t, map[string]string{"config/application.properties": "stream.default-binder=kafka\n"})
	if l := mustLoad(t, quiet(dir)); l.Stream.DefaultBinder != "kafka" || l.Stream.Origins["stream.default-binder"] != "config/application.properties:1" {
		t.Errorf("config/ alone: default-binder %q from %q", l.Stream.DefaultBinder, l.Stream.Origins["stream.default-binder"])
	}
}

// As in Spring Boot, the default locations are one group: every profile
// file wins over every base file, and among a profile's files the later
// location wins.
func TestLocationsDefaultProfileOrder(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":          "a: root\nb: root\nc: root\n",
		"application-p.yaml":        "a: root-p\nb: root-p\n",
		"config/application.yaml":   "a: config\nb: config\nc: config\n",
		"config/application-p.yaml": "b: config-p\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{}, Profiles: []string{"p"}})
	for k, want := range map[string]string{"a": "root-p", "b": "config-p", "c": "config"} {
		if l.Raw[k] != want {
			t.Errorf("%s = %v, want %s", k, l.Raw[k], want)
		}
	}
	want := []string{"application.yaml", "config/application.yaml", "application-p.yaml", "config/application-p.yaml"}
	if got := relFiles(t, dir, l); !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}

	// A profile whose only file is in ./config/ is not missing; one with
	// none lists the files looked for in the directories that exist.
	dir = writeTree(t, map[string]string{
		"application.yaml":          "a: root\n",
		"config/application-q.yaml": "a: q\n",
	})
	l = mustLoad(t, Options{Dir: dir, Env: []string{}, Profiles: []string{"q", "r"}, Logger: slog.New(slog.DiscardHandler)})
	if l.Raw["a"] != "q" || len(l.Warnings) != 1 ||
		!strings.Contains(l.Warnings[0].Msg, "(looked for application-r.yaml, application-r.yml, application-r.properties, config/application-r.yaml, config/application-r.yml, config/application-r.properties)") {
		t.Errorf("a = %v, warnings %v", l.Raw["a"], l.Warnings)
	}
}

// SPRING_CONFIG_NAME (spring.config.name) was ignored.
func TestLocationsConfigName(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":      "a: application\n",
		"billing.yaml":          "a: billing\nb: billing\nc: billing\n",
		"billing-p.properties":  "c=billing-p\n",
		"shared.yaml":           "b: shared\n",
		"config/shared.yaml":    "x: config-shared\n",
		"config/application.ym": "ignored\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_NAME=billing, shared"}, Profiles: []string{"p"}})
	for k, want := range map[string]string{"a": "billing", "b": "shared", "c": "billing-p", "x": "config-shared"} {
		if l.Raw[k] != want {
			t.Errorf("%s = %v, want %s", k, l.Raw[k], want)
		}
	}
	// Options.ConfigName wins over the variable.
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_NAME=billing"}, ConfigName: []string{"application"}})
	if l.Raw["a"] != "application" {
		t.Errorf("Options.ConfigName: a = %v", l.Raw["a"])
	}
	es := configErrors(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_NAME=conf/*"}})
	if len(es) != 1 || !strings.Contains(es[0].Error(), `spring.config.name (env SPRING_CONFIG_NAME): "conf/*": a config name is a file name`) {
		t.Errorf("got %v", es)
	}
}

// SPRING_CONFIG_LOCATION replaces the default locations: files (with
// their profile variants), directories, hints, optional:.
func TestLocationsSpringConfigLocation(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":        "a: root\n",
		"conf/application.yaml":   "a: conf\nb: conf\nc: conf\n",
		"etc/svc.yaml":            "b: svc\nc: svc\n",
		"etc/svc-p.yaml":          "c: svc-p\n",
		"etc/extra.env":           "d=extra\n",
		"config/application.yaml": "e: config\n",
	})
	env := []string{"SPRING_CONFIG_LOCATION=file:conf/, etc/svc.yaml, optional:missing/, optional:file:none.yaml, etc/extra.env[.properties]"}
	l := mustLoad(t, Options{Dir: dir, Env: env, Profiles: []string{"p"}})
	for k, want := range map[string]any{"a": "conf", "b": "svc", "c": "svc-p", "d": "extra", "e": nil} {
		if l.Raw[k] != want {
			t.Errorf("%s = %v, want %v", k, l.Raw[k], want)
		}
	}
	if o := l.Stream.Origins["c"]; o != "etc/svc-p.yaml:1" {
		t.Errorf("origin of c = %q", o)
	}
	// Options.Locations wins over the variable.
	l = mustLoad(t, Options{Dir: dir, Env: env, Locations: []string{"conf/"}})
	if l.Raw["a"] != "conf" || l.Raw["b"] != "conf" {
		t.Errorf("Options.Locations: a = %v, b = %v", l.Raw["a"], l.Raw["b"])
	}
}

// A location that is missing, or that a Go program cannot read, is an
// error naming it and the variable it came from; with optional: a
// classpath location is a warning.
func TestLocationsProblems(t *testing.T) {
	dir := writeTree(t, map[string]string{"application.yaml": "a: root\n", "conf/app": "a: x\n"})
	cases := []struct{ env, want string }{
		{"SPRING_CONFIG_LOCATION=conf/missing.yaml", `spring.config.location (env SPRING_CONFIG_LOCATION): "conf/missing.yaml": no such file (`},
		{"SPRING_CONFIG_LOCATION=file:nodir/", `spring.config.location (env SPRING_CONFIG_LOCATION): "file:nodir/": no such directory (`},
		{"SPRING_CONFIG_ADDITIONAL_LOCATION=classpath:/config/", `spring.config.additional-location (env SPRING_CONFIG_ADDITIONAL_LOCATION): "classpath:/config/": there is no classpath in a Go program`},
		{"SPRING_CONFIG_LOCATION=conf/app", `"conf/app": the file's extension is not .yaml, .yml or .properties`},
		{"SPRING_CONFIG_LOCATION=conf/*/x/", `"conf/*/x/": a wildcard location holds one '*', as its last directory`},
		{"SPRING_CONFIG_LOCATION=nodir/*/", `"nodir/*/": no such directory`},
	}
	for _, c := range cases {
		es := configErrors(t, quiet(dir, c.env))
		if len(es) != 1 || !strings.Contains(es[0].Error(), c.want) || !strings.Contains(es[0].Error(), "SPRING_CONFIG_") {
			t.Errorf("%s: got %v, want %q", c.env, es, c.want)
		}
	}
	l := mustLoad(t, quiet(dir, "SPRING_CONFIG_ADDITIONAL_LOCATION=optional:classpath:/config/"))
	if len(l.Warnings) != 1 || l.Warnings[0].Origin != "env SPRING_CONFIG_ADDITIONAL_LOCATION" || !strings.Contains(l.Warnings[0].Msg, "no classpath") || l.Raw["a"] != "root" {
		t.Errorf("optional classpath: warnings %v, a = %v", l.Warnings, l.Raw["a"])
	}
	// The two spellings of the additional-location variable must agree.
	es := configErrors(t, quiet(dir, "SPRING_CONFIG_ADDITIONAL_LOCATION=conf/", "SPRING_CONFIG_ADDITIONALLOCATION=etc/"))
	if len(es) != 1 || !strings.Contains(es[0].Error(), "set differently by env SPRING_CONFIG_ADDITIONAL_LOCATION") {
		t.Errorf("two spellings: got %v", es)
	}
}

// SPRING_CONFIG_ADDITIONAL_LOCATION adds locations after the default ones
// (they win), each comma item a group of its own: its base file wins over
// the profile files of the groups before it; locations joined by ';' are
// one group, as in Spring Boot's /cfg/ /ext/ example.
func TestLocationsAdditionalAndGroups(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":                 "a: root\nb: root\n",
		"application-live.yaml":            "a: root-live\nb: root-live\n",
		"ext/application.yaml":             "a: ext\n",
		"cfg/application-live.yml":         "x: cfg-live\ny: cfg-live\n",
		"ext2/application-prod.properties": "x=ext2-prod\ny=ext2-prod\nz=ext2-prod\n",
		"ext2/application-live.properties": "y=ext2-live\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_ADDITIONAL_LOCATION=ext/"}, Profiles: []string{"live"}})
	if l.Raw["a"] != "ext" || l.Raw["b"] != "root-live" {
		t.Errorf("additional: a = %v, b = %v", l.Raw["a"], l.Raw["b"])
	}
	// cfg/,ext2/: all of cfg/ before all of ext2/.
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_LOCATION=cfg/,ext2/"}, Profiles: []string{"prod", "live"}})
	if l.Raw["x"] != "ext2-prod" || l.Raw["y"] != "ext2-live" {
		t.Errorf("comma: x = %v, y = %v", l.Raw["x"], l.Raw["y"])
	}
	// cfg/;ext2/: prod's files, then live's, of both.
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_LOCATION=cfg/;ext2/"}, Profiles: []string{"prod", "live"}})
	if l.Raw["x"] != "cfg-live" || l.Raw["y"] != "ext2-live" || l.Raw["z"] != "ext2-prod" {
		t.Errorf("semicolon: x = %v, y = %v, z = %v", l.Raw["x"], l.Raw["y"], l.Raw["z"])
	}
	want := []string{"ext2/application-prod.properties", "cfg/application-live.yml", "ext2/application-live.properties"}
	if got := relFiles(t, dir, l); !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}
	// A file named by two locations is read once.
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_ADDITIONAL_LOCATION=./,file:application.yaml"}})
	if got := relFiles(t, dir, l); !reflect.DeepEqual(got, []string{"application.yaml"}) {
		t.Errorf("read once: Files = %v", got)
	}
}

// A wildcard location reads each subdirectory, in lexical order.
func TestLocationsWildcard(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"etc/b/application.yaml": "a: b\n",
		"etc/a/application.yaml": "a: a\nb: a\n",
		"etc/a/svc.yaml":         "c: a-svc\n",
		"etc/c/other.yaml":       "",
	})
	l := mustLoad(t, quiet(dir, "SPRING_CONFIG_LOCATION=file:etc/*/,etc/*/svc.yaml"))
	if l.Raw["a"] != "b" || l.Raw["b"] != "a" || l.Raw["c"] != "a-svc" {
		t.Errorf("a = %v, b = %v, c = %v", l.Raw["a"], l.Raw["b"], l.Raw["c"])
	}
}

// An explicit base file replaces the locations: SPRING_CONFIG_LOCATION is
// then ignored with a warning naming it (not silently), and
// Options.Locations beside it is an error; additional locations apply.
func TestLocationsExplicitFile(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app.yaml":                "a: app\nb: app\n",
		"config/application.yaml": "a: config\n",
		"more/application.yaml":   "b: more\n",
	})
	l := mustLoad(t, Options{Dir: dir, File: "app.yaml", Env: []string{"SPRING_CONFIG_LOCATION=config/"}, Logger: slog.New(slog.DiscardHandler)})
	if l.Raw["a"] != "app" || len(l.Warnings) != 1 || l.Warnings[0].Origin != "env SPRING_CONFIG_LOCATION" || !strings.Contains(l.Warnings[0].Msg, "Options.File") {
		t.Errorf("a = %v, warnings %v", l.Raw["a"], l.Warnings)
	}
	l = mustLoad(t, Options{Dir: dir, File: "app.yaml", Env: []string{"SPRING_CONFIG_ADDITIONAL_LOCATION=more/"}})
	if l.Raw["a"] != "app" || l.Raw["b"] != "more" {
		t.Errorf("additional over File: a = %v, b = %v", l.Raw["a"], l.Raw["b"])
	}
	es := configErrors(t, Options{Dir: dir, File: "app.yaml", Locations: []string{"config/"}})
	if len(es) != 1 || es[0].Origin != "Options.Locations" {
		t.Errorf("File and Locations: got %v", es)
	}
}

// spring.config.name, location and additional-location written in a file
// have no effect, as in Spring Boot (which reads them from the
// environment first): each is a warning at its file:line, not silently
// ignored as it was, and so is a key of spring.config that Boot does not
// have; set from the environment they were read, and stay.
func TestSpringConfigKeysInAFile(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml": "spring:\n  config:\n    location: ./other/\n    locaton: x\n    on-not-found: ignore\n  application:\n    name: shop\n" +
			"---\nspring:\n  config:\n    activate:\n      on-profile: p\n    name: billing\n",
		"other/application.yaml": "a: other\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}})
	want := []string{
		"spring.config.location (application.yaml:3): has no effect in a file",
		"(set SPRING_CONFIG_LOCATION, or Options.Locations, which replace the default locations ./, ./config/ and ./config/*/; to read more files beside them, SPRING_CONFIG_ADDITIONAL_LOCATION or spring.config.import); ignored",
		"spring.config.locaton (application.yaml:4): not a key of Spring Boot's spring.config",
		"spring.config.on-not-found (application.yaml:5): Spring Boot's on-not-found has no counterpart",
		"spring.config.name (application.yaml:13): has no effect in a file",
	}
	var got []string
	for _, w := range l.Warnings {
		got = append(got, w.Error())
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d warnings, want 4:\n%s", len(got), all)
	}
	if _, ok := l.Raw["a"]; ok {
		t.Errorf("./other/ was read")
	}
	spring, _ := l.Raw["spring"].(map[string]any)
	if _, ok := spring["config"]; ok || spring["application"] == nil {
		t.Errorf("spring = %v, want spring.config removed, spring.application kept", spring)
	}
	// From the environment: read and kept; the file that sets it too is
	// still warned of (a newcomer's variable silenced the file's warning).
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_LOCATION=./,./other/"}})
	spring, _ = l.Raw["spring"].(map[string]any)
	cfg, _ := spring["config"].(map[string]any)
	if l.Raw["a"] != "other" || cfg["location"] != "./,./other/" {
		t.Errorf("a = %v, spring.config = %v", l.Raw["a"], cfg)
	}
	got = nil
	for _, w := range l.Warnings {
		got = append(got, w.Error())
	}
	all = strings.Join(got, "\n")
	if !strings.Contains(all, "spring.config.location (application.yaml:3): has no effect in a file") || !strings.Contains(all, "(env SPRING_CONFIG_LOCATION sets it: that is read)") {
		t.Errorf("no warning for the file's spring.config.location under SPRING_CONFIG_LOCATION:\n%s", all)
	}
	// Only from the environment: no warning about it.
	dir = writeTree(t, map[string]string{"application.yaml": "b: 1\n", "other/application.yaml": "a: other\n"})
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_LOCATION=./,./other/"}})
	if l.Raw["a"] != "other" || len(l.Warnings) != 0 {
		t.Errorf("a = %v, warnings %v", l.Raw["a"], l.Warnings)
	}
}
