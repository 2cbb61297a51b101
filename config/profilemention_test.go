package config

import (
	"testing"
)

// An active profile that a document of another profile's file is
// activated by (application-p.yaml holding "on-profile: q") does set
// something: it was warned about as setting nothing, and with
// RequireProfileFiles refused.
func TestProfileActivatingADocumentOfAProfileFileIsNoTypo(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":   "stream.bindings.x-in-0.group: base\n",
		"application-p.yaml": "stream.bindings.x-in-0.group: p\n---\nspring.config.activate.on-profile: q\nstream.bindings.x-in-0.group: p-and-q\n",
	})
	for _, order := range [][]string{{"p", "q"}, {"q", "p"}} {
		l := mustLoad(t, Options{Dir: dir, Profiles: order, RequireProfileFiles: true})
		if g := l.Stream.Binding("x-in-0").Group; g != "p-and-q" {
			t.Errorf("profiles %q: group %q", order, g)
		}
		if len(l.Warnings) != 0 {
			t.Errorf("profiles %q: warnings %v", order, l.Warnings)
		}
	}
	// A profile nothing is activated by is still one.
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p", "r"}})
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "spring.profiles.active" {
		t.Errorf("profile r: warnings %v", l.Warnings)
	}
	configErrors(t, Options{Dir: dir, Profiles: []string{"p", "r"}, RequireProfileFiles: true})
}
