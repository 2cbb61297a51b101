package config

import (
	"reflect"
	"testing"
)

// spring.profiles.include's profiles were merged after the active ones,
// so an included profile's file won over the active profile's: Spring
// Boot puts the included profiles first (its Profiles adds the
// additional ones before the active ones), and the active profile wins.
func TestIncludedProfilesComeBeforeActiveOnes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":        "spring.profiles.include: common\nstream.bindings.x-in-0.group: base\n",
		"application-common.yaml": "stream.bindings.x-in-0.group: from-common\nstream.bindings.x-in-0.destination: common-only\n",
		"application-prod.yaml":   "stream.bindings.x-in-0.group: from-prod\n",
	})
	for how, opts := range map[string]Options{
		"Options.Profiles":       {Dir: dir, Profiles: []string{"prod"}},
		"SPRING_PROFILES_ACTIVE": {Dir: dir, Env: []string{"SPRING_PROFILES_ACTIVE=prod"}},
	} {
		l := mustLoad(t, opts)
		b := l.Stream.Binding("x-in-0")
		if b.Group != "from-prod" || b.Destination != "common-only" {
			t.Errorf("prod from %s: group %q, destination %q; want the active profile's group over the included one's", how, b.Group, b.Destination)
		}
		if !reflect.DeepEqual(l.Profiles, []string{"common", "prod"}) {
			t.Errorf("prod from %s: profiles %q", how, l.Profiles)
		}
	}
}
