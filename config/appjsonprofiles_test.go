package config

import (
	"reflect"
	"strings"
	"testing"
)

// SPRING_APPLICATION_JSON='{"spring":{"profiles":{"active":"dev"}}}' was
// ignored: no profile active, the app ran on the base values. Spring Boot
// binds the profile keys from every property source, the JSON's ranking
// above the other variables' and the files': its active and default
// replace theirs, its include adds, its group.<name> wins for that name.
func TestSpringApplicationJSONProfiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.properties": "spring.profiles.active=file\nspring.profiles.group.grp=fromfile\n" +
			"stream.bindings.x-in-0.destination=base\n",
		"application-dev.properties":   "stream.bindings.x-in-0.destination=dev\n",
		"application-inc.properties":   "a.inc=1\n",
		"application-prod.properties":  "stream.bindings.x-in-0.destination=prod\n",
		"application-file.properties":  "stream.bindings.x-in-0.destination=file\n",
		"application-jsonm.properties": "a.jsonm=1\n",
		"application-fallback.yaml":    "stream.bindings.x-in-0.destination: fallback\n",
	})
	for _, tc := range []struct {
		name     string
		env      []string
		profiles []string
		dest     string
	}{
		{"nested", []string{`SPRING_APPLICATION_JSON={"spring":{"profiles":{"active":"dev"}}}`}, []string{"dev"}, "dev"},
		{"dotted, over the variables", []string{`SPRING_APPLICATION_JSON={"spring.profiles.active":["dev"]}`,
			"SPRING_PROFILES_ACTIVE=prod", "STREAM_PROFILES_ACTIVE=prod", "spring.profiles.active=prod"}, []string{"dev"}, "dev"},
		{"include added before the active", []string{`SPRING_APPLICATION_JSON={"spring":{"profiles":{"include":"inc"}}}`,
			"SPRING_PROFILES_ACTIVE=prod"}, []string{"inc", "prod"}, "prod"},
		{"group over the file's", []string{`SPRING_APPLICATION_JSON={"spring":{"profiles":{"active":"grp","group":{"grp":["jsonm","dev"]}}}}`},
			[]string{"grp", "jsonm", "dev"}, "dev"},
		{"default", []string{`SPRING_APPLICATION_JSON={"spring":{"profiles":{"active":"","default":"fallback"}}}`},
			nil, "fallback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLoad(t, Options{Dir: dir, Env: tc.env})
			if !reflect.DeepEqual(l.Profiles, tc.profiles) {
				t.Errorf("profiles %q, want %q", l.Profiles, tc.profiles)
			}
			if got := l.Stream.Binding("x-in-0").Destination; got != tc.dest {
				t.Errorf("destination %q, want %q", got, tc.dest)
			}
		})
	}
	// A value that names no profiles is a problem, with its origin.
	es := configErrors(t, Options{Dir: dir, Env: []string{`SPRING_APPLICATION_JSON={"spring":{"profiles":{"active":{"a":1}}}}`}})
	found := false
	for _, e := range es {
		if e.Path == "spring.profiles.active" && e.Origin == "env SPRING_APPLICATION_JSON" && strings.Contains(e.Msg, "profile names") {
			found = true
		}
	}
	if !found {
		t.Errorf("got %v, want a problem at spring.profiles.active (env SPRING_APPLICATION_JSON)", es)
	}
}
