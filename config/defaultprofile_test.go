package config

import (
	"strings"
	"testing"
)

// While no profile is active, Spring Boot accepts its default profiles
// (spring.profiles.default, "default" unless set): application-default.yaml
// and the documents activated by "default" apply. They were ignored
// without a word, so an SCSt service whose local settings live there ran
// on other values than under Spring.
func TestDefaultProfileWhileNoneIsActive(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "stream:\n  default-binder: memory\n  bindings:\n    x-in-0: { group: base, destination: base }\n" +
			"---\nspring.config.activate.on-profile: default\nstream.bindings.x-in-0.group: from-default-document\n",
		"application-default.yaml": "stream.bindings.x-in-0.destination: from-default-file\n",
		"application-local.yaml":   "stream.bindings.x-in-0.destination: from-local-file\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	b := l.Stream.Binding("x-in-0")
	if b.Group != "from-default-document" || b.Destination != "from-default-file" {
		t.Errorf("no profile active: group %q, destination %q; want the default profile's", b.Group, b.Destination)
	}
	if len(l.Profiles) != 0 {
		t.Errorf("active profiles %q: the default profile is not an active one", l.Profiles)
	}
	if len(l.Warnings) != 0 {
		t.Errorf("warnings %v", l.Warnings)
	}
	// An active profile replaces the default one.
	l = mustLoad(t, Options{Dir: dir, Profiles: []string{"local"}})
	if b := l.Stream.Binding("x-in-0"); b.Group != "base" || b.Destination != "from-local-file" {
		t.Errorf("profile local: group %q, destination %q", b.Group, b.Destination)
	}
	// spring.profiles.default and SPRING_PROFILES_DEFAULT name others.
	dir2 := writeFiles(t, map[string]string{
		"application.yaml":       "spring.profiles.default: local\nstream:\n  bindings:\n    x-in-0: { destination: base }\n",
		"application-local.yaml": "stream.bindings.x-in-0.destination: from-local-file\n",
		"application-other.yaml": "stream.bindings.x-in-0.destination: from-other-file\n",
	})
	if b := mustLoad(t, Options{Dir: dir2}).Stream.Binding("x-in-0"); b.Destination != "from-local-file" {
		t.Errorf("spring.profiles.default: destination %q", b.Destination)
	}
	if b := mustLoad(t, Options{Dir: dir2, Env: []string{"SPRING_PROFILES_DEFAULT=other"}}).Stream.Binding("x-in-0"); b.Destination != "from-other-file" {
		t.Errorf("SPRING_PROFILES_DEFAULT: destination %q", b.Destination)
	}
	// As in Spring Boot, it cannot be set in a profile-specific file.
	dir3 := writeFiles(t, map[string]string{
		"application.yaml":   "stream.default-binder: memory\n",
		"application-p.yaml": "spring.profiles.default: q\n",
	})
	es := configErrors(t, Options{Dir: dir3, Profiles: []string{"p"}})
	if len(es) != 1 || !strings.Contains(es[0].Error(), "spring.profiles.default cannot be set in a profile-specific file") {
		t.Errorf("got %v", es)
	}
}
