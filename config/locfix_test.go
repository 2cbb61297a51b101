package config

import (
	"log/slog"
	"strings"
	"testing"
)

// The behaviours next to the break_locations fixes (locations.go).

// Options.Data is the lowest group: ./application.yaml on disk wins over
// it, and its origins are told apart ("embedded application.yaml");
// SPRING_CONFIG_LOCATION replaces the file locations, not Data.
func TestLocationsDataUnderTheFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":      "a: disk\n",
		"conf/application.yaml": "c: conf\n",
	})
	data := []byte("a: embedded\nb: embedded\n")
	l := mustLoad(t, Options{Dir: dir, Env: []string{}, Data: data, Logger: slog.New(slog.DiscardHandler)})
	if l.Raw["a"] != "disk" || l.Raw["b"] != "embedded" || l.Stream.Origins["b"] != "embedded application.yaml:2" {
		t.Errorf("a = %v, b = %v from %q; want disk, embedded from embedded application.yaml:2", l.Raw["a"], l.Raw["b"], l.Stream.Origins["b"])
	}
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_LOCATION=conf/"}, Data: data, Logger: slog.New(slog.DiscardHandler)})
	if l.Raw["a"] != "embedded" || l.Raw["c"] != "conf" || len(l.Warnings) != 0 || l.Stream.Origins["a"] != "application.yaml:1" {
		t.Errorf("SPRING_CONFIG_LOCATION=conf/ over Data: a = %v (%q), c = %v, warnings %v; want embedded (application.yaml:1), conf, none",
			l.Raw["a"], l.Stream.Origins["a"], l.Raw["c"], l.Warnings)
	}
}

// SPRING_APPLICATION_JSON's spring.config.location wins over
// SPRING_CONFIG_LOCATION, as Boot ranks the JSON over the variables.
func TestLocationsAppJSONOverVariable(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a/application.yaml": "x: a\n",
		"b/application.yaml": "x: b\n",
	})
	l := mustLoad(t, quiet(dir, "SPRING_CONFIG_LOCATION=a/", `SPRING_APPLICATION_JSON={"spring.config.location":["b/"]}`))
	if l.Raw["x"] != "b" {
		t.Errorf("x = %v, want b (the JSON's location)", l.Raw["x"])
	}
}

// An unresolvable placeholder in SPRING_CONFIG_LOCATION is an error
// naming spring.config.location and the variable; nothing is searched.
func TestLocationsUnresolvedPlaceholder(t *testing.T) {
	dir := writeTree(t, map[string]string{"application.yaml": "x: root\n"})
	_, err := Load(quiet(dir, "SPRING_CONFIG_LOCATION=${NOPE}/"))
	if err == nil || !strings.Contains(err.Error(), "spring.config.location (env SPRING_CONFIG_LOCATION)") || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("err %v; want spring.config.location (env SPRING_CONFIG_LOCATION) naming NOPE", err)
	}
}

// A profile file that an additional location reads too is read there,
// where it wins (config/application-prod.yaml over config/x/'s).
func TestLocationsAdditionalProfileFileWins(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"config/application-prod.yaml":   "q: config\n",
		"config/x/application-prod.yaml": "q: x\n",
	})
	o := quiet(dir, "SPRING_CONFIG_ADDITIONAL_LOCATION=optional:file:./config/")
	o.Profiles = []string{"prod"}
	l := mustLoad(t, o)
	if l.Raw["q"] != "config" {
		t.Errorf("q = %v, want config; files %v", l.Raw["q"], relFiles(t, dir, l))
	}
}
