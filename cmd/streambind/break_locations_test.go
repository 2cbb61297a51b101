package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Failing regression for lint/config <dir> after 13507c9 (load.go: the
// search of Spring Boot's locations).
//
// What is wrong: when no file is found, the error always reads "no
// application.yaml, application.yml or application.properties in this
// directory (nor in its config/ or config/*/ directories)", whatever
// SPRING_CONFIG_NAME and SPRING_CONFIG_LOCATION say. With
// SPRING_CONFIG_NAME=billing the files looked for were billing.yaml,
// billing.yml and billing.properties; with
// SPRING_CONFIG_LOCATION=optional:conf/ neither the directory itself nor
// config/ nor config/*/ was searched, only conf/. The message sends the
// user looking for the wrong file in the wrong place.
//
// Spring Boot: spring.config.name replaces "application" in the names
// looked for, and spring.config.location replaces the default locations
// (reference, "External Application Properties"); streambind's own
// loader says so (locations.go).
//
// Expected: the message names the files and places actually searched:
// billing.yaml (not application.yaml) in the first case; conf/ (and not
// "config/*/") in the second.
func TestBreakLocationsNoFileMessageNamesWhatWasSearched(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/README": "no configuration here\n"})

	r := runIn(t, dir, []string{"SPRING_CONFIG_NAME=billing"}, "lint", "svc")
	out := r.stdout + r.stderr
	if r.code == exitOK || !strings.Contains(out, "billing") || strings.Contains(out, "no application.yaml") {
		t.Errorf("SPRING_CONFIG_NAME=billing: exit %d, output %q; want it to name billing.yaml (the name searched), not application.yaml", r.code, out)
	}

	r = runIn(t, dir, []string{"SPRING_CONFIG_LOCATION=optional:conf/"}, "lint", "svc")
	out = r.stdout + r.stderr
	if r.code == exitOK || !strings.Contains(out, "conf/") || strings.Contains(out, "config/*/") {
		t.Errorf("SPRING_CONFIG_LOCATION=optional:conf/: exit %d, output %q; want it to name conf/ (the location searched), not config/ and config/*/", r.code, out)
	}
}

// What is wrong: when the first file read comes from a location outside
// the service's directory (SPRING_CONFIG_LOCATION=/etc/app/ or ../shared/),
// service.base holds its absolute path, and service.configFile() joins it
// to the directory anyway: dlq's messages name
// "svc/tmp/.../shared/application.yaml", a file that does not exist
// (service.file checks filepath.IsAbs, configFile does not).
//
// Spring Boot: not applicable (a CLI matter); 13507c9's own comment in
// load.go says base is "a location outside the directory: its path".
//
// Expected: the file a message names exists: the absolute path (or one
// relative to the working directory), not the directory joined to an
// absolute path.
func TestBreakLocationsConfigFileOutsideDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"shared/application.yaml": "stream:\n  default-binder: memory\n  bindings:\n    work-in-0: {destination: d, group: g}\n",
		"svc/README":              "the configuration is in ../shared\n",
	})
	for _, loc := range []string{filepath.Join(dir, "shared") + "/", "../shared/"} {
		r := runIn(t, dir, []string{"SPRING_CONFIG_LOCATION=" + loc}, "dlq", "ls", "--binding", "nope", "svc")
		msg := strings.TrimSpace(r.stderr)
		named, _, ok := strings.Cut(strings.TrimPrefix(msg, "streambind: "), ": no consumer binding")
		if r.code == exitOK || !ok {
			t.Errorf("SPRING_CONFIG_LOCATION=%s: exit %d, stderr %q; want the no-consumer-binding error", loc, r.code, r.stderr)
			continue
		}
		p := named
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("SPRING_CONFIG_LOCATION=%s: the message names %q, which does not exist (want %s)", loc, named, filepath.Join(dir, "shared", "application.yaml"))
		}
	}
}
