package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTree writes files (slash paths, directories created) below a new
// temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// spring.config.import was refused. As in Spring Boot, the imported
// file's documents are merged right after the document that imports
// them: they win over it, the documents after it win over them. A plain
// path is relative to the importing file; keys keep their file's origin.
func TestImportMergedAfterTheImportingDocument(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"conf/application.yaml": "spring.config.import: extra.yaml\na: base\nb: base\nc: base\n---\nc: second\n",
		"conf/extra.yaml":       "a: extra\nc: extra\nd: extra\n",
	})
	l := mustLoad(t, Options{Dir: dir, File: "conf/application.yaml"})
	for k, want := range map[string]string{"a": "extra", "b": "base", "c": "second", "d": "extra"} {
		if l.Raw[k] != want {
			t.Errorf("%s = %v, want %s", k, l.Raw[k], want)
		}
	}
	if o := l.Stream.Origins["d"]; o != "conf/extra.yaml:3" {
		t.Errorf("origin of d: %q", o)
	}
	if want := []string{filepath.Join(dir, "conf/application.yaml"), filepath.Join(dir, "conf/extra.yaml")}; !reflect.DeepEqual(l.Files, want) {
		t.Errorf("files %q, want %q", l.Files, want)
	}
	if _, ok := l.Raw["spring"]; ok {
		t.Errorf("spring.config.import left in Raw: %v", l.Raw["spring"])
	}
}

// file: is relative to Options.Dir (the application's working directory,
// as Boot's file: is the process's), absolute paths as they are; a list
// is merged in order (the later wins); optional: may be missing; a
// missing file without it is an error at the key's line.
func TestImportFileLocationsAndOptional(t *testing.T) {
	abs := writeTree(t, map[string]string{"abs.properties": "x=abs\ny=abs\n"})
	dir := writeTree(t, map[string]string{
		"application.yaml": "a: 1\nspring:\n  config:\n    import:\n      - file:sub/one.yaml\n      - " + filepath.Join(abs, "abs.properties") + "\n      - optional:file:missing.yaml\n",
		"sub/one.yaml":     "x: one\nz: one\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	if l.Raw["x"] != "abs" || l.Raw["y"] != "abs" || l.Raw["z"] != "one" {
		t.Errorf("raw %v", l.Raw)
	}
	if o := l.Stream.Origins["z"]; o != "sub/one.yaml:2" {
		t.Errorf("origin of z: %q", o)
	}
	if o := l.Stream.Origins["y"]; o != filepath.Join(abs, "abs.properties")+":2" {
		t.Errorf("origin of y: %q", o)
	}
	// Data is read under dir's application.yaml, which is read too: its
	// origins say "embedded" (locations.go).
	es := configErrors(t, Options{Data: []byte("a: 1\nspring.config.import: file:nope.yaml\n"), Dir: dir})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), `spring.config.import (embedded application.yaml:2): "file:nope.yaml": no such file`) ||
		!strings.Contains(es[0].Error(), "optional:") {
		t.Errorf("got %v", es)
	}
}

// The extension hint types a file without a known extension; a directory
// location (ending in '/') loads its application.yaml and
// application.properties (which wins); an unknown extension is an error
// saying what to do.
func TestImportExtensionHintAndDirectory(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":              "spring.config.import: dev.env[.properties], config/\n",
		"dev.env":                       "hint=yes\n",
		"config/application.yaml":       "d: yaml\ne: yaml\n",
		"config/application.properties": "d=properties\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	if l.Raw["hint"] != "yes" || l.Raw["d"] != "properties" || l.Raw["e"] != "yaml" {
		t.Errorf("raw %v", l.Raw)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"spring.config.import: x.env\n", `"x.env": the file's extension is not .yaml, .yml or .properties`},
		{"spring.config.import: x.env[.xml]\n", "unknown extension hint"},
		{"spring.config.import: nodir/\n", `"nodir/": no such directory`},
		{"spring.config.import: https://config.example/app.yaml\n", "locations of type https: are not supported"},
		{"spring.config.import: configserver:http://cfg:8888\n", "Spring Cloud Config Server is not available"},
		{"spring.config.import: [a.yaml, 3: x]\n", "spring.config.import: expected a location"},
	} {
		es := configErrors(t, Options{Data: []byte(tc.yaml), Dir: dir})
		if len(es) != 1 || !strings.Contains(es[0].Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, es, tc.want)
		}
	}
	// optional: nothing missing is reported.
	mustLoad(t, Options{Data: []byte("spring.config.import: optional:nodir/, optional:x.yaml\n"), Dir: dir})
}

// classpath: and configserver: cannot be read by a Go program: without
// optional: they are refused (the application would run without
// properties it requires); with it, ignored with a warning naming the key
// and location, so that an SCSt file runs unchanged but nobody is
// surprised.
func TestImportClasspathAndConfigServer(t *testing.T) {
	es := configErrors(t, Options{Data: []byte("a: 1\nspring.config.import: classpath:/extra.yaml\n")})
	if len(es) != 1 || !strings.Contains(es[0].Error(), "there is no classpath in a Go program: name the file with file:") {
		t.Errorf("got %v", es)
	}
	l := mustLoad(t, Options{Data: []byte("a: 1\nspring.config.import: optional:classpath:/extra.yaml, optional:configserver:http://cfg:8888\n")})
	if len(l.Warnings) != 2 || l.Warnings[0].Path != "spring.config.import" || l.Warnings[0].Origin != "application.yaml:2" ||
		!strings.Contains(l.Warnings[0].Msg, `ignored "optional:classpath:/extra.yaml"`) ||
		!strings.Contains(l.Warnings[1].Msg, `ignored "optional:configserver:http://cfg:8888": Spring Cloud Config Server`) {
		t.Errorf("warnings %v", l.Warnings)
	}
}

// Imports inside imported files load (relative to their own file); a
// file is loaded once, so cycles end.
func TestImportNestedAndCycles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml": "spring.config.import: a/a.yaml\nbase: 1\n",
		"a/a.yaml":         "spring.config.import: b.yaml\nfrom-a: 1\nk: a\n",
		"a/b.yaml":         "spring.config.import: a.yaml, ../application.yaml\nfrom-b: 1\nk: b\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	if l.Raw["from-a"] != 1 || l.Raw["from-b"] != 1 || l.Raw["k"] != "b" {
		t.Errorf("raw %v", l.Raw)
	}
	if len(l.Files) != 3 {
		t.Errorf("files %q", l.Files)
	}
}

// Profiles: an imported file (of a document without a profile condition)
// may activate profiles and define groups, as Boot imports those before
// the profiles are known; the profile-specific variants of an imported
// file load after it; imports in profile-specific files and documents
// load when they apply, profile-specific themselves.
func TestImportAndProfiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":      "spring.config.import: common.yaml\nv: base\n---\nspring.config.activate.on-profile: dev\nspring.config.import: ondev.yaml\n",
		"common.yaml":           "spring.profiles.active: prod\nspring.profiles.group.prod: dev\nv: common\n",
		"common-dev.yaml":       "v: common-dev\nw: common-dev\n",
		"ondev.yaml":            "ondev: 1\n",
		"application-prod.yaml": "spring.config.import: prodextra.yaml\nv: prod\nx: prod\n",
		"prodextra.yaml":        "x: prodextra\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	if want := []string{"prod", "dev"}; !reflect.DeepEqual(l.Profiles, want) {
		t.Errorf("profiles %q, want %q", l.Profiles, want)
	}
	for k, want := range map[string]any{"v": "prod", "w": "common-dev", "x": "prodextra", "ondev": 1} {
		if l.Raw[k] != want {
			t.Errorf("%s = %v, want %v", k, l.Raw[k], want)
		}
	}
	// Without the profiles, neither the variant nor the document's import.
	l = mustLoad(t, Options{Dir: dir, Profiles: []string{}})
	if l.Raw["v"] != "common" || l.Raw["w"] != nil || l.Raw["ondev"] != nil {
		t.Errorf("no profiles: raw %v", l.Raw)
	}
	// A file imported by a profile-specific one is profile-specific: the
	// profile keys are refused there, as in the profile file itself.
	dir = writeTree(t, map[string]string{
		"application.yaml":     "a: 1\n",
		"application-dev.yaml": "spring.config.import: more.yaml\n",
		"more.yaml":            "b: 1\nspring.profiles.include: other\n",
	})
	es := configErrors(t, Options{Dir: dir, Profiles: []string{"dev"}})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), "more.yaml:2: spring.profiles.include cannot be set in a profile-specific file") {
		t.Errorf("got %v", es)
	}
}

// ${...} in a location: from the environment, else from the keys loaded
// so far (the importing document's too); unresolved is an error at the
// key's line.
func TestImportPlaceholders(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"env/e.yaml":  "e: 1\n",
		"keys/k.yaml": "k: 1\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{"CONFIG_DIR=" + filepath.Join(dir, "env")},
		Data: []byte("app.conf-dir: keys\nspring.config.import: ${CONFIG_DIR}/e.yaml, file:${app.conf-dir}/k.yaml\n")})
	if l.Raw["e"] != 1 || l.Raw["k"] != 1 {
		t.Errorf("raw %v", l.Raw)
	}
	es := configErrors(t, Options{Dir: dir, Data: []byte("a: 1\nspring.config.import: ${NOPE}/e.yaml\n")})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), `spring.config.import (application.yaml:2): "${NOPE}/e.yaml": `) {
		t.Errorf("got %v", es)
	}
}

// configtree: (a Kubernetes ConfigMap or Secret mounted as files): each
// file a property, subdirectories nested with '.', one trailing newline
// dropped, the volume's "..data" links skipped; its origin names the
// file; the values of secret keys are hidden.
func TestImportConfigTree(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":                              "spring.config.import: optional:configtree:tree/, configtree:" + "mounts/*/\nmyapp.db.host: base\n",
		"tree/myapp.db.host":                            "db.internal\n",
		"tree/myapp/db/password":                        "s3cr3t-hunter2\n",
		"tree/myapp/motd":                               "line one\nline two\n",
		"tree/..data/ignored":                           "x",
		"mounts/cm1/spring.cloud.stream.default-binder": "kafka",
		"mounts/cm2/myapp.other":                        "2\r\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	app, _ := l.Raw["myapp"].(map[string]any)
	db, _ := app["db"].(map[string]any)
	if db["host"] != "db.internal" || db["password"] != "s3cr3t-hunter2" || app["motd"] != "line one\nline two\n" || app["other"] != "2" {
		t.Errorf("myapp %q", app)
	}
	if l.Stream.DefaultBinder != "kafka" {
		t.Errorf("default binder %q", l.Stream.DefaultBinder)
	}
	if _, ok := l.Raw[".."]; ok || len(l.Raw) != 2 {
		t.Errorf("raw keys: %v", l.Raw)
	}
	if o := l.Stream.Origins["myapp.db.password"]; o != "tree/myapp/db/password:1" {
		t.Errorf("origin %q", o)
	}
	if !l.Secrets.Contains("s3cr3t-hunter2") || !l.SecretPaths["myapp.db.password"] {
		t.Errorf("secret not known: %v", l.SecretPaths)
	}
	if s := l.Secrets.String("got s3cr3t-hunter2 here"); strings.Contains(s, "hunter2") {
		t.Errorf("shown: %s", s)
	}
	red, _ := l.Redacted()["myapp"].(map[string]any)
	if strings.Contains(strings.ToLower(fmtAny(red)), "hunter2") {
		t.Errorf("redacted: %v", red)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"spring.config.import: configtree:tree\n", "a configtree location must end in '/'"},
		{"spring.config.import: configtree:nope/\n", `"configtree:nope/": no such directory`},
	} {
		es := configErrors(t, Options{Data: []byte(tc.yaml), Dir: dir})
		if len(es) != 1 || !strings.Contains(es[0].Error(), tc.want) {
			t.Errorf("%q: got %v", tc.yaml, es)
		}
	}
}

func fmtAny(v any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, s := range t {
				b.WriteString(k + "=")
				walk(s)
			}
		case string:
			b.WriteString(t + ";")
		}
	}
	walk(v)
	return b.String()
}

// Links in a configuration tree that lead back up it are followed once:
// three of them made the walk branch 3^100 times.
func TestImportConfigTreeLinkLoop(t *testing.T) {
	dir := writeTree(t, map[string]string{"tree/a": "1"})
	for _, n := range []string{"l1", "l2", "l3"} {
		if err := os.Symlink(filepath.Join(dir, "tree"), filepath.Join(dir, "tree", n)); err != nil {
			t.Skip(err)
		}
	}
	l := mustLoad(t, Options{Dir: dir, Data: []byte("spring.config.import: configtree:tree/\n")})
	if len(l.Raw) != 1 || l.Raw["a"] != "1" {
		t.Errorf("raw %v", l.Raw)
	}
}
