package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Failing regressions for the search of the base files' locations
// (13507c9: config/locations.go, Load's file discovery and profile loop).
// Spring Boot sources cited: spring-boot
// org/springframework/boot/context/config/ConfigDataEnvironment.java
// (getInitialImportContributors), ConfigDataImporter.java (load),
// ConfigDataEnvironmentContributor.java (ContributorIterator) and the
// reference, "External Application Properties".

// What is wrong: a file named by SPRING_CONFIG_ADDITIONAL_LOCATION that
// the default locations find too (here ./config/, or
// ./config/application.yaml) is read once at the default locations'
// place, so it does not win: ./config/x/application.yaml still overrides
// it, although the deployer named ./config/ as the location that wins.
//
// Spring Boot: getInitialImportContributors puts the additional locations
// before spring.config.location's (the default ones) in the contributor
// list, i.e. with higher precedence, and processes them first
// (getNextToProcess walks the contributors in precedence order);
// ConfigDataImporter.load keeps a set of the resources loaded and skips a
// resource met again. So the file is loaded at the additional location's
// (winning) place and skipped when the default group meets it.
//
// Expected: with SPRING_CONFIG_ADDITIONAL_LOCATION=optional:file:./config/
// (or naming the file), a key of config/application.yaml wins over
// config/x/application.yaml.
func TestBreakLocationsAdditionalNamingDefaultFileWins(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":          "a: root\n",
		"config/application.yaml":   "a: config\n",
		"config/x/application.yaml": "a: config-x\n",
	})
	for _, add := range []string{"optional:file:./config/", "file:config/application.yaml"} {
		l := mustLoad(t, quiet(dir, "SPRING_CONFIG_ADDITIONAL_LOCATION="+add))
		if l.Raw["a"] != "config" || l.Stream.Origins["a"] != "config/application.yaml:1" {
			t.Errorf("SPRING_CONFIG_ADDITIONAL_LOCATION=%s: a = %v from %q, want config from config/application.yaml:1 (the additional location wins, as in Boot); Files %v",
				add, l.Raw["a"], l.Stream.Origins["a"], relFiles(t, dir, l))
		}
	}
}

// What is wrong: Options.Data (documented as "embedded configuration")
// replaces the search locations, so a deployment's ./config/application.yaml
// (or ./config/*/application.yaml, a mounted ConfigMap) is ignored without
// a word when the program embeds its application.yaml: exactly the silent
// failure 13507c9 set out to remove ("a deployment's override in
// ./config/application.yaml ... were ignored without a word and the
// service ran on the wrong settings").
//
// Spring Boot: the packaged file is classpath:/application.yaml, in the
// classpath group; the file:./, file:./config/, file:./config/*/ group is
// still searched and wins over it (reference, "External Application
// Properties": "Application properties packaged inside your jar" are
// overridden by those "outside of your packaged jar").
//
// Expected: with Options.Data the file locations ./config/ and
// ./config/*/ are still read and win over Data; at the very least a
// warning naming config/application.yaml says it is not read.
func TestBreakLocationsDataIgnoresDeploymentConfig(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"config/application.yaml": "a: deployment\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{}, Data: []byte("a: embedded\nb: embedded\n"), Logger: slog.New(slog.DiscardHandler)})
	if l.Raw["a"] == "deployment" && l.Raw["b"] == "embedded" {
		return
	}
	for _, w := range l.Warnings {
		if strings.Contains(w.Msg, "config/application.yaml") || strings.Contains(w.Origin, "config/application.yaml") {
			return
		}
	}
	t.Errorf("Options.Data with config/application.yaml present: a = %v, b = %v, warnings %v; want config/application.yaml read over the embedded data (a = deployment), or a warning naming it",
		l.Raw["a"], l.Raw["b"], l.Warnings)
}

// What is wrong: spring.config.location given in SPRING_APPLICATION_JSON
// (which streambind reads, appjson.go) is ignored without a word: the
// default locations are searched instead and the service runs on the
// files the deployer meant to replace.
//
// Spring Boot: SpringApplicationJsonEnvironmentPostProcessor (order
// HIGHEST_PRECEDENCE + 5) adds the JSON as a property source before
// ConfigDataEnvironmentPostProcessor (HIGHEST_PRECEDENCE + 10) binds
// spring.config.location / name / additional-location from the
// environment (ConfigDataEnvironment.bindLocations), so the JSON's
// spring.config.location replaces the default locations.
//
// Expected: conf/application.yaml is read in place of ./application.yaml
// (a = conf); or, if streambind chooses not to read it, a warning or error
// naming spring.config.location; never silence.
func TestBreakLocationsAppJSONConfigLocationIgnored(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":      "a: root\n",
		"conf/application.yaml": "a: conf\n",
	})
	l, err := Load(quiet(dir, `SPRING_APPLICATION_JSON={"spring":{"config":{"location":"conf/"}}}`))
	if l != nil && l.Raw["a"] == "conf" {
		return
	}
	if err != nil && strings.Contains(err.Error(), "spring.config.location") {
		return
	}
	if l != nil {
		for _, w := range l.Warnings {
			if strings.Contains(w.Path+w.Msg, "spring.config.location") {
				return
			}
		}
	}
	var a any
	if l != nil {
		a = l.Raw["a"]
	}
	t.Errorf("spring.config.location in SPRING_APPLICATION_JSON: a = %v, err %v, no warning; want conf/ searched (a = conf, as Boot does) or a problem naming spring.config.location", a, err)
}

// What is wrong: the warning for an active profile with no file lists
// every file looked for in every directory location, ./config/*/ included:
// with 300 subdirectories of ./config/ (a mounted volume, a checkout) the
// one warning line is over 30 KB (measured: 535 KB for 5000), printed by
// lint and logged by every app at start. The other limits of the loader
// are bounded (docs/conventions.md: sizes of files, values, chains).
//
// Spring Boot: logs no such list (a profile without files is silent).
//
// Expected: the warning stays short (here under 4 KiB): the first files
// looked for, then how many more ("... and 897 more").
func TestBreakLocationsMissingProfileWarningBounded(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 300; i++ {
		if err := os.MkdirAll(filepath.Join(dir, "config", fmt.Sprintf("volume-%03d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "application.yaml"), []byte("a: root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := mustLoad(t, Options{Dir: dir, Env: []string{}, Profiles: []string{"typo"}, Logger: slog.New(slog.DiscardHandler)})
	if len(l.Warnings) != 1 {
		t.Fatalf("warnings %d, want 1 (profile typo has no file)", len(l.Warnings))
	}
	if n := len(l.Warnings[0].Msg); n > 4096 {
		t.Errorf("the missing-profile warning is %d bytes (want at most 4096): %.300s...", n, l.Warnings[0].Msg)
	}
}

// What is wrong: a placeholder in SPRING_CONFIG_LOCATION (or
// _ADDITIONAL_LOCATION) is resolved after the value is split at ',' and
// ';', so a placeholder standing for a list
// (SPRING_CONFIG_LOCATION=${CONFIG_DIRS}, CONFIG_DIRS=conf/,etc/) is read
// as one directory named "conf/,etc": a "no such directory" error (or,
// with optional:, nothing read at all).
//
// Spring Boot: ConfigDataEnvironment.bindLocations binds the property
// with the Binder, which resolves the placeholders of the value first
// (Binder.bindProperty → PlaceholdersResolver) and then converts the
// resolved String to ConfigDataLocation[] (split at commas); ';' groups
// are split later, by ConfigDataLocation.split at resolution.
//
// Expected: ${DIRS} with DIRS=conf/,etc/ behaves as conf/,etc/ (two
// groups: b from etc/ wins), and DIRS=conf/;etc/ as one group.
func TestBreakLocationsPlaceholderStandingForAList(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":      "a: root\n",
		"conf/application.yaml": "a: conf\nb: conf\n",
		"etc/application.yaml":  "b: etc\n",
	})
	for _, dirs := range []string{"conf/,etc/", "conf/;etc/"} {
		l, err := Load(quiet(dir, "SPRING_CONFIG_LOCATION=${DIRS}", "DIRS="+dirs))
		if err != nil {
			t.Errorf("DIRS=%s: %v; want conf/ and etc/ searched, as SPRING_CONFIG_LOCATION=%s would", dirs, err, dirs)
			continue
		}
		if l.Raw["a"] != "conf" || l.Raw["b"] != "etc" {
			t.Errorf("DIRS=%s: a = %v, b = %v; want conf, etc", dirs, l.Raw["a"], l.Raw["b"])
		}
	}
}

// What is wrong: SPRING_CONFIG_NAME is not placeholder-resolved and not
// checked for one: SPRING_CONFIG_NAME=${APP_NAME} searches for the files
// "${APP_NAME}.yaml", "${APP_NAME}.properties", finds none, and Load
// succeeds with an empty configuration, without an error or a warning
// (./application.yaml is not read either). The service starts on the
// built-in defaults.
//
// Spring Boot: StandardConfigDataLocationResolver.getConfigNames binds
// spring.config.name with the environment's Binder, which resolves
// ${APP_NAME} from the environment (an unresolvable one fails the bind).
//
// Expected: ${APP_NAME} with APP_NAME=billing reads billing.yaml; an
// unset placeholder is an error naming spring.config.name (as an unset
// placeholder in SPRING_CONFIG_LOCATION already is).
func TestBreakLocationsConfigNamePlaceholder(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml": "a: application\n",
		"billing.yaml":     "a: billing\n",
	})
	l, err := Load(quiet(dir, "SPRING_CONFIG_NAME=${APP_NAME}", "APP_NAME=billing"))
	if err != nil || l.Raw["a"] != "billing" {
		var a any
		if l != nil {
			a = l.Raw["a"]
		}
		t.Errorf("SPRING_CONFIG_NAME=${APP_NAME}, APP_NAME=billing: a = %v, err %v; want billing (billing.yaml read)", a, err)
	}
	_, err = Load(quiet(dir, "SPRING_CONFIG_NAME=${APP_NAME}"))
	if err == nil || !strings.Contains(err.Error(), "spring.config.name") {
		t.Errorf("SPRING_CONFIG_NAME=${APP_NAME}, APP_NAME unset: err %v; want an error naming spring.config.name (not an empty configuration)", err)
	}
}
