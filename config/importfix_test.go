package config

import (
	"strings"
	"testing"
)

// Regressions for 08b320d beyond the break_imports tests.

// SPRING_CONFIG_IMPORT_0, _1 (a list's items, as Boot binds them from the
// environment) are read; an env-imported file wins over the base files'
// profile files, and its profile variant loads.
func TestImportFromIndexedEnvironmentVariables(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":     "x: app\nspring.profiles.active: dev\n",
		"application-dev.yaml": "x: app-dev\ny: app-dev\n",
		"a.yaml":               "x: a\n",
		"b.yaml":               "z: b\n",
		"b-dev.yaml":           "y: b-dev\n",
	})
	l, msgs, err := breakLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_IMPORT_1=b.yaml", "SPRING_CONFIG_IMPORT_0=a.yaml"}})
	if err != nil || l.Raw["x"] != "a" || l.Raw["y"] != "b-dev" || l.Raw["z"] != "b" {
		t.Errorf("raw %v, err %v, messages %s", l.Raw, err, msgs)
	}
}

// A key that refers to a configuration tree's value gets the value as it
// is: the tree's "${" is not resolved through the reference either.
func TestConfigTreeValueLiteralThroughAReference(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":   "spring.config.import: configtree:tree/\napp.copy: ${app.token-ish}\n",
		"tree/app.token-ish": "a${b}c\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	app, _ := l.Raw["app"].(map[string]any)
	if app["copy"] != "a${b}c" || app["token-ish"] != "a${b}c" {
		t.Errorf("app %v", app)
	}
}

// A location's value is split on its commas once resolved; a file listed
// twice in one list is merged at its later place, as Boot's
// ConfigDataImporter reads the list from the last location.
func TestImportLocationListSplitAfterResolvingAndRepeatsAtTheLaterPlace(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml": "spring.config.import: ${FILES:a.yaml,b.yaml}\n",
		"a.yaml":           "x: a\ny: a\n",
		"b.yaml":           "x: b\n",
		"c.yaml":           "spring.config.import: a.yaml, b.yaml, a.yaml\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	if l.Raw["x"] != "b" || l.Raw["y"] != "a" {
		t.Errorf("split: raw %v", l.Raw)
	}
	l = mustLoad(t, Options{Dir: dir, File: "c.yaml"})
	if l.Raw["x"] != "a" || !strings.HasSuffix(l.Files[len(l.Files)-1], "a.yaml") {
		t.Errorf("repeat: x = %v, files %q; want a (a.yaml merged last)", l.Raw["x"], l.Files)
	}
}

// spring.profiles.active and include given by a placeholder are split on
// commas once resolved, as the group members are (the same code).
func TestActiveProfilesFromAPlaceholderAreSplitAfterResolving(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":   "spring.profiles.active: ${PROFILES}\nspring.profiles.include: \"${INC:i,j}\"\n",
		"application-a.yaml": "x: a\n",
		"application-b.yaml": "x: b\n",
		"application-i.yaml": "y: i\n",
		"application-j.yaml": "y: j\n",
	})
	l, msgs, err := breakLoad(t, Options{Dir: dir, Env: []string{"PROFILES=a,b"}})
	if err != nil || strings.Join(l.Profiles, "|") != "i|j|a|b" || l.Raw["x"] != "b" || l.Raw["y"] != "j" {
		t.Errorf("profiles %q, raw %v, err %v %s", l.Profiles, l.Raw, err, msgs)
	}
}
