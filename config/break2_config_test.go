package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// Second-round failing regressions for the config loader's Spring Boot
// features (spring.config.location / additional-location / name, and
// Options.Data as the embedded lowest group), after 927ffcc, 3cc68d0 and
// 8146137.

// What is wrong: a placeholder naming a secret (${DB_PASSWORD}) in
// spring.config.location, spring.config.additional-location or
// spring.config.name is resolved (locations.go: locFinder.resolve and
// expandWildcard use expandNested, which records nothing) and the
// resolved text is printed in the problems ("file:nope/hunter2-x/": no
// such directory (.../nope/hunter2-x)), and it is not added to
// Loaded.Secrets, so no caller can hide it either. The same placeholder in
// spring.config.import (a file's or SPRING_CONFIG_IMPORT) is hidden
// (imports.go resolveLocations: expandObserved + imp.hidden, "hidden in
// every message"; Loaded.Secrets doc: "Errors and Warnings have them
// hidden already").
//
// Spring Boot never prints property values in its failure analysis of a
// missing location beyond the location itself, but streambind promises
// more: a value a secret-named placeholder gave is hidden wherever a
// message shows it (config.go, "A value placeholders naming a secret
// filled in is hidden wherever a message shows it"). The locations are
// resolved from the same environment, so the promise has to hold for
// them too.
//
// Expected: no problem or warning shows the secret's text, and
// Loaded.Secrets holds it (as for an import location), so that Files,
// origins and the CLI's output can be hidden by the caller.
func TestBreak2LocationSecretPlaceholderHidden(t *testing.T) {
	const secret = "hunter2-x"
	dir := writeTree(t, map[string]string{"application.yaml": "a: 1\n"})
	for _, env := range [][]string{
		{"DB_PASSWORD=" + secret, "SPRING_CONFIG_LOCATION=file:nope/${DB_PASSWORD}/"},
		{"DB_PASSWORD=" + secret, "SPRING_CONFIG_LOCATION=file:nope/${DB_PASSWORD}/*/"},
		{"DB_PASSWORD=" + secret, "SPRING_CONFIG_ADDITIONAL_LOCATION=file:nope/${DB_PASSWORD}.yaml"},
		{"DB_PASSWORD=" + secret, "SPRING_CONFIG_NAME=${DB_PASSWORD}/x"},
		// The control: the same placeholder in an import is hidden.
		{"DB_PASSWORD=" + secret, "SPRING_CONFIG_IMPORT=file:nope/${DB_PASSWORD}.yaml"},
	} {
		_, err := Load(Options{Dir: dir, Env: env})
		if err == nil {
			t.Errorf("%v: Load succeeded, want the missing location reported", env)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%v: the secret's value is shown:\n%v", env, err)
		}
	}

	// A location that exists: the secret it was built from is one of
	// Loaded.Secrets, as an import location's is.
	dir = writeTree(t, map[string]string{"application.yaml": "a: 1\n", secret + "/application.yaml": "b: 2\n"})
	l, err := Load(Options{Dir: dir, Env: []string{"DB_PASSWORD=" + secret, "SPRING_CONFIG_ADDITIONAL_LOCATION=optional:file:${DB_PASSWORD}/"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Secrets.String("read " + secret + "/application.yaml"); strings.Contains(got, secret) {
		t.Errorf("Loaded.Secrets does not hold the text ${DB_PASSWORD} gave spring.config.additional-location: %q", got)
	}
}

// What is wrong: with Options.Data (the embedded configuration) and
// Options.Name (its name in messages: "application.properties" for
// properties data), a real ./application.yaml found on disk by the default
// search is given Options.Name as its name (locations.go dirFiles: "loc.dot
// && f.opts.Name != \"\"" renames the ./ YAML file, a rule meant for the
// search without Data), and 8146137 then renames the embedded data to
// "embedded <Name>". The keys of the disk file get the origin
// "application.properties:1" (a file that does not exist, or the
// embedded data's name), the embedded data's keys "embedded
// application.properties:1": lint, config and the problems point the user
// at the wrong source.
//
// Spring Boot: each property source is named by its own resource
// ("Config resource 'file [application.yaml]' via location 'optional:file:./'"
// vs "Config resource 'class path resource [application.properties]'").
//
// Expected: the disk file's keys have origin "application.yaml:<line>";
// the embedded data's keys keep Options.Name (prefixed or not, but not the
// disk file's name).
func TestBreak2DataNameDoesNotRenameDiskFile(t *testing.T) {
	dir := writeTree(t, map[string]string{"application.yaml": "a: disk\n"})
	for _, name := range []string{"application.properties", "embedded.yaml"} {
		data := "b: data\n"
		if strings.HasSuffix(name, ".properties") {
			data = "b=data\n"
		}
		l, err := Load(Options{Dir: dir, Data: []byte(data), Name: name, Env: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Stream.Origins["a"]; got != "application.yaml:1" {
			t.Errorf("Name %q: key a of ./application.yaml has origin %q, want application.yaml:1", name, got)
		}
		if got := l.Stream.Origins["b"]; !strings.Contains(got, name) || got == l.Stream.Origins["a"] {
			t.Errorf("Name %q: key b of the embedded data has origin %q", name, got)
		}
	}
}

// What is wrong: with Options.Data (embedded configuration) and
// spring.config.location replacing the default locations
// (SPRING_CONFIG_LOCATION=file:etc/), the working directory's
// ./application-prod.yaml is still read and wins (locations.go
// profileFiles: the embedded group's profile files are "looked for in
// Dir"), although the deployer said to search etc/ only and ./ is no
// longer a location. A stray profile file in the directory the program
// happens to run from (a checkout, a container's WORKDIR) overrides the
// chosen configuration; the same file's base, ./application.yaml, is
// rightly not read, so the two disagree.
//
// Spring Boot: spring.config.location replaces the default locations
// (reference, "External Application Properties": "If
// spring.config.location contains directories ... it replaces the
// default locations"; ConfigDataEnvironment.getInitialImportContributors
// binds LOCATION_PROPERTY with DEFAULT_SEARCH_LOCATIONS only as the
// fallback), so optional:file:./ and its application-prod.yaml are not
// searched; the packaged (classpath) profile files are not files of the
// working directory.
//
// Expected: with spring.config.location set, no file of Dir that the
// locations do not name is read: a = "etc-prod" from
// etc/application-prod.yaml, no key b (set only by the stray
// ./application-prod.yaml), which is not among Loaded.Files.
func TestBreak2DataProfileFileNotReadOutsideLocations(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":          "a: stray\n",
		"application-prod.yaml":     "a: stray-prod\nb: stray-prod\n",
		"etc/application.yaml":      "a: etc\n",
		"etc/application-prod.yaml": "a: etc-prod\n",
	})
	l, err := Load(Options{Dir: dir, Data: []byte("a: data\n"),
		Env: []string{"SPRING_CONFIG_LOCATION=file:etc/", "SPRING_PROFILES_ACTIVE=prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Raw["a"]; got != "etc-prod" {
		t.Errorf("a = %v (%s), want etc-prod (etc/application-prod.yaml); files %v", got, l.Stream.Origins["a"], l.Files)
	}
	if got, ok := l.Raw["b"]; ok {
		t.Errorf("b = %v (%s): set by ./application-prod.yaml, which spring.config.location=file:etc/ does not name", got, l.Stream.Origins["b"])
	}
	for _, f := range l.Files {
		if f == filepath.Join(dir, "application-prod.yaml") {
			t.Errorf("read %s, which spring.config.location=file:etc/ does not name", f)
		}
	}
}
