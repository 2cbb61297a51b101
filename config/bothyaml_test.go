package config

import (
	"strings"
	"testing"
)

// With application.yaml and application.yml side by side (or a profile's
// two), the .yml file was not read, without a word: Spring Boot reads
// both, so its keys were lost on porting.
func TestYAMLAndYMLSideBySide(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "stream.bindings.x-in-0.group: g\n",
		"application.yml":  "stream.bindings.x-in-0.destination: d\n",
	})
	es := configErrors(t, Options{Dir: dir})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), "application.yml: not read: application.yaml is read instead") {
		t.Errorf("base files: got %v", es)
	}
	dir = writeFiles(t, map[string]string{
		"application.yaml":   "stream.bindings.x-in-0.group: g\n",
		"application-p.yaml": "stream.bindings.x-in-0.group: p\n",
		"application-p.yml":  "stream.bindings.x-in-0.destination: d\n",
	})
	es = configErrors(t, Options{Dir: dir, Profiles: []string{"p"}})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), "application-p.yml: not read: application-p.yaml is read instead") {
		t.Errorf("profile files: got %v", es)
	}
	// One of them, with .properties beside it, is fine.
	dir = writeFiles(t, map[string]string{
		"application.yml":          "stream.bindings.x-in-0.group: g\n",
		"application-p.yml":        "stream.bindings.x-in-0.group: p\n",
		"application-p.properties": "stream.bindings.x-in-0.destination=d\n",
	})
	if b := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}}).Stream.Binding("x-in-0"); b.Group != "p" || b.Destination != "d" {
		t.Errorf("group %q destination %q", b.Group, b.Destination)
	}
}
