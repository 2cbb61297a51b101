package config

import (
	"strings"
	"testing"
)

// The placeholders of profile keys and locations (importer.lookup) were
// followed to a depth of 16 with no memory of the names met: a key that
// names itself several times (x: ${x}${x}${x}${x}${x}${x}${x}${x}) cost
// 8^16 lookups, start-up hung; a cycle was reported as "more than 16
// deep (a cycle?)". Each name is now resolved once per lookup, and a
// cycle is one problem naming the chain, as Spring's "Circular
// placeholder reference".
func TestLocationLookupCycleOnce(t *testing.T) {
	x := strings.Repeat("${x}", 8)
	for _, c := range []struct {
		name, app string
		env       []string
		want      string
	}{
		{"profile key", "x: '" + x + "'\nspring.profiles.active: ${x}\n", nil, "placeholder cycle: x → x; set x to a value without a placeholder"},
		{"import", "x: '" + x + "'\nspring.config.import: optional:${x}\n", nil, "placeholder cycle: x → x; set x to a value without a placeholder"},
		{"env", "spring.profiles.active: ${P}\n", []string{"P=" + strings.Repeat("${P}", 8)}, "placeholder cycle: env P → env P; set env P to a value without a placeholder"},
		{"env chain", "spring.profiles.active: ${P}\n", []string{"P=${Q}${Q}${Q}", "Q=${P}${P}${P}"}, "placeholder cycle: env P → env Q → env P; set env P or env Q to a value without a placeholder"},
		{"self", "spring.profiles.active: ${spring.profiles.active}\n", nil, "placeholder cycle: spring.profiles.active → spring.profiles.active; set spring.profiles.active to a value without a placeholder"},
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": c.app})
		es := configErrors(t, Options{Dir: dir, Env: append([]string{}, c.env...)})
		found := false
		for _, e := range es {
			if strings.Contains(e.Msg, "deep") || strings.Count(e.Msg, "cycle") > 1 {
				t.Errorf("%s: %s: %s", c.name, e.Path, e.Msg)
			}
			if strings.HasSuffix(e.Msg, c.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no problem %q in %v", c.name, c.want, es)
		}
	}
}
