package actuatorpath

import "testing"

// Spring Boot's rules: base-path must start with '/' (a trailing one is
// dropped, / is the root); a mapping gets a leading '/' and loses a
// trailing one; a path is plain segments.
func TestPaths(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "/manage": "/manage", "/manage/": "/manage", "/a/b": "/a/b"} {
		if got, err := BasePath(in); err != nil || got != want {
			t.Errorf("BasePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"manage", "/a//b", "/a/../b", "/{x}", "/a b", "/%41", "//"} {
		if got, err := BasePath(in); err == nil {
			t.Errorf("BasePath(%q) = %q, want an error", in, got)
		}
	}
	for in, want := range map[string]string{"": "", " ": "", "/": "/", "hc": "/hc", "/hc/": "/hc", "a/b": "/a/b"} {
		if got, err := Mapping(in); err != nil || got != want {
			t.Errorf("Mapping(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"a//b", "..", "a/{b}", "a?b"} {
		if got, err := Mapping(in); err == nil {
			t.Errorf("Mapping(%q) = %q, want an error", in, got)
		}
	}
}

func TestSettings(t *testing.T) {
	s := Settings{Base: "", Mapping: map[string]string{"health": "/hc", "info": "/"}, Discovery: false}
	for id, want := range map[string]string{"health": "/hc", "info": "/", "bindings": "/bindings"} {
		if got := s.Path(id); got != want {
			t.Errorf("Path(%s) = %q, want %q", id, got, want)
		}
	}
	if c := s.Conflicts(); len(c) != 0 {
		t.Errorf("conflicts without discovery: %v", c)
	}
	s.Discovery = true
	if c := s.Conflicts(); len(c) != 1 || c["info"] == nil {
		t.Errorf("info at the discovery page's path: %v", c)
	}
	s = Settings{Base: "/actuator", Include: []string{"Health", "prometheus"}, Exclude: []string{"PROMETHEUS"}}
	for id, want := range map[string]bool{"health": true, "prometheus": false, "info": false} {
		if got := s.Exposed(id); got != want {
			t.Errorf("Exposed(%s) = %v, want %v", id, got, want)
		}
	}
	if !(Settings{}).Exposed("config") || (Settings{Include: []string{"*"}, Exclude: []string{"*"}}).Exposed("health") {
		t.Error("an empty include exposes every endpoint; exclude * none")
	}
}
