package config

import (
	"strings"
	"testing"
)

// break3Load loads (errors allowed) and returns Loaded, the warnings one
// a line, and the error's text.
func break3Load(t *testing.T, files map[string]string, env ...string) (*Loaded, string, string) {
	t.Helper()
	if env == nil {
		env = []string{}
	}
	l, err := Load(Options{Dir: writeTree(t, files), Env: env})
	if l == nil {
		t.Fatalf("Load: %v", err)
	}
	var ws []string
	for _, w := range l.Warnings {
		ws = append(ws, w.Error())
	}
	es := ""
	if err != nil {
		es = err.Error()
	}
	return l, strings.Join(ws, "\n"), es
}

// SPRING_APPLICATION_JSON's spring.config.import is read (an initial
// import, as in Boot): it was warned of as "not a key of Spring Boot's
// spring.config (import, ...)" and dropped from Raw.
func TestBreak3AppJSONImportKept(t *testing.T) {
	l, ws, es := break3Load(t, map[string]string{"application.yaml": "a: 1\n", "extra.yaml": "b: 2\n"},
		`SPRING_APPLICATION_JSON={"spring":{"config":{"import":"extra.yaml"}}}`)
	if es != "" || ws != "" {
		t.Errorf("error %q, warnings:\n%s", es, ws)
	}
	if l.Raw["b"] != 2 {
		t.Errorf("extra.yaml not read: b = %v", l.Raw["b"])
	}
	spring, _ := l.Raw["spring"].(map[string]any)
	cfg, _ := spring["config"].(map[string]any)
	if cfg["import"] != "extra.yaml" {
		t.Errorf("spring = %v, want spring.config.import kept", spring)
	}
}

// A file's invalid spring.config.activate is an error where its document
// is read; it was also a warning calling activate "not a key of Spring
// Boot's spring.config (import, activate.on-profile, ...)".
func TestBreak3InvalidActivateOneProblem(t *testing.T) {
	for _, doc := range []string{
		"spring:\n  config:\n    activate:\n      on-profle: p\nb: 2\n",
		"spring:\n  config:\n    activate: p\nb: 2\n",
	} {
		l, ws, es := break3Load(t, map[string]string{"application.yaml": "a: 1\n---\n" + doc})
		if !strings.Contains(es, "spring.config.activate") {
			t.Errorf("%q: error %q, want one about spring.config.activate", doc, es)
		}
		if ws != "" {
			t.Errorf("%q: warnings:\n%s", doc, ws)
		}
		if _, ok := l.Raw["spring"]; ok {
			t.Errorf("%q: spring = %v", doc, l.Raw["spring"])
		}
	}
	// In SPRING_APPLICATION_JSON it has no document to condition.
	_, ws, _ := break3Load(t, map[string]string{"application.yaml": "a: 1\n"},
		`SPRING_APPLICATION_JSON={"spring":{"config":{"activate":{"on-profile":"x"}}}}`)
	if !strings.Contains(ws, "spring.config.activate (env SPRING_APPLICATION_JSON): has no effect in the environment") || strings.Contains(ws, "not a key") {
		t.Errorf("warnings:\n%s", ws)
	}
}

// spring.config given a value of its own (a scalar, a list) has no
// effect either: it stayed in Raw without a word.
func TestBreak3SpringConfigValue(t *testing.T) {
	for _, v := range []string{" foo\n", "\n    - a\n    - b\n"} {
		l, ws, es := break3Load(t, map[string]string{"application.yaml": "spring:\n  config:" + v + "  application:\n    name: shop\n"})
		if es != "" {
			t.Errorf("%q: error %s", v, es)
		}
		if !strings.Contains(ws, "spring.config (application.yaml:2): has no effect") {
			t.Errorf("%q: warnings:\n%s", v, ws)
		}
		spring, _ := l.Raw["spring"].(map[string]any)
		if _, ok := spring["config"]; ok || spring["application"] == nil {
			t.Errorf("%q: spring = %v, want spring.config removed, spring.application kept", v, spring)
		}
	}
	l, ws, _ := break3Load(t, map[string]string{"application.yaml": "a: 1\n"}, `SPRING_APPLICATION_JSON={"spring":{"config":"x"}}`)
	if !strings.Contains(ws, "spring.config (env SPRING_APPLICATION_JSON): has no effect") {
		t.Errorf("warnings:\n%s", ws)
	}
	if _, ok := l.Raw["spring"]; ok {
		t.Errorf("spring = %v", l.Raw["spring"])
	}
}

// Spring Boot has no spring.config.import-check: Spring Cloud Config's
// check is spring.cloud.config.import-check.enabled. The warning called
// spring.config.import-check Spring Cloud Config's.
func TestBreak3ImportCheckNotBoots(t *testing.T) {
	_, ws, _ := break3Load(t, map[string]string{"application.yaml": "spring:\n  config:\n    import-check:\n      enabled: false\n"})
	if !strings.Contains(ws, "spring.config.import-check (application.yaml:3): not a key of Spring Boot's spring.config") ||
		!strings.Contains(ws, "spring.cloud.config.import-check.enabled") {
		t.Errorf("warnings:\n%s", ws)
	}
}

// A key set in several files is a warning at each: only the last file's
// (the one whose value won) was named, so that removing it brought the
// next to light one run later.
func TestBreak3EachFileNamed(t *testing.T) {
	l, err := Load(Options{Dir: writeTree(t, map[string]string{
		"application.yaml":      "spring:\n  config:\n    location: x/\n    on-not-found: ignore\n",
		"application-prod.yaml": "a: 1\nspring:\n  config:\n    location: y/\n",
	}), Profiles: []string{"prod"}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range l.Warnings {
		got = append(got, w.Path+" "+w.Origin)
	}
	want := "spring.config.location application.yaml:3|spring.config.location application-prod.yaml:4|spring.config.on-not-found application.yaml:4"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("warnings at\n%s\nwant\n%s", g, want)
	}
}

// A blank SPRING_CONFIG_LOCATION counts as unset; it covered the file's
// spring.config.location in Raw ("", origin the variable), and the
// file's key, without effect, went without a warning.
func TestBreak3BlankVariableOverFileKey(t *testing.T) {
	l, ws, es := break3Load(t, map[string]string{"application.yaml": "a: 1\nspring:\n  config:\n    location: x/\n"}, "SPRING_CONFIG_LOCATION=")
	if es != "" {
		t.Fatal(es)
	}
	if !strings.Contains(ws, "spring.config.location (application.yaml:4): has no effect in a file") {
		t.Errorf("warnings:\n%s", ws)
	}
	if _, ok := l.Raw["spring"]; ok {
		t.Errorf("spring = %v", l.Raw["spring"])
	}
	// Set, the variable is read, and no warning of the key (the file it
	// is in is not read: SPRING_CONFIG_LOCATION replaced ./).
	l, ws, _ = break3Load(t, map[string]string{"application.yaml": "spring:\n  config:\n    location: x/\n", "y/application.yaml": "b: 1\n"}, "SPRING_CONFIG_LOCATION=y/")
	if ws != "application.yaml: not read: the files looked for are application.yaml, application.yml or application.properties in y/ (env SPRING_CONFIG_LOCATION)" || l.Raw["b"] == nil {
		t.Errorf("b = %v, warnings:\n%s", l.Raw["b"], ws)
	}
}
