package config

import (
	"fmt"
	"strings"
	"testing"
)

// expandPlaceholders (a section decoded, l.Decode("myapp")) remembered
// the variables it resolved but not those that failed: each reference to
// a failing variable expanded its whole chain again, A0='${A1}${A1}...'
// down to an unset variable cost width^depth expansions (Decode took
// seconds at depth 7, and hung at the depth bound, 16). Each variable is
// now expanded at most once, whether it resolves or fails; and a failing
// name referred to several times is one problem (it was one a reference).
func TestExpandPlaceholdersFailingChainLinear(t *testing.T) {
	chain := func(depth, width int, last string) map[string]string {
		env := map[string]string{}
		for i := 0; i < depth; i++ {
			env[fmt.Sprintf("A%d", i)] = strings.Repeat(fmt.Sprintf("${A%d}", i+1), width)
		}
		if last != "" {
			env[fmt.Sprintf("A%d", depth)] = last
		}
		return env
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unset at the end", chain(8, 3, ""), "environment variable A8 is not set"},
		{"an empty name at the end", chain(8, 3, "${:x}"), `placeholder "${:x}" names no variable`},
		{"a cycle at the end", chain(8, 3, "${A4}${A4}"), "placeholder cycle: env A0 → env A1 → env A2 → env A3 → env A4 → env A5 → env A6 → env A7 → env A8 → env A4; set env A4, env A5, env A6, env A7 or env A8 to a value without a placeholder"},
		{"deeper than the bound", chain(20, 3, "x"), "refer more than 16 deep"},
	} {
		e := newEnvExpander(c.env)
		_, probs := expandNested("${A0}${A0}${A0}", e.lookup, 0)
		if len(probs) != 1 || !strings.Contains(probs[0], c.want) {
			t.Errorf("%s: problems %q, want one with %q", c.name, probs, c.want)
		}
		if n := len(c.env); e.expansions > n {
			t.Fatalf("%s: %d expansions for %d variables", c.name, e.expansions, n)
		}
	}

	// A failing name referred to again is one problem, not one a
	// reference: in a file's value, and down a chain of variables.
	for _, c := range []struct {
		data string
		env  []string
	}{
		{"k0: '${k1}${k1}${k1}'\nk1: '${NOPE}${NOPE}'\n", nil},
		{"k0: '${A0}${A0}'\n", []string{"A0=${A1}${A1}${A1}", "A1=${NOPE}${NOPE}"}},
	} {
		if es := configErrors(t, Options{Data: []byte(c.data), Env: c.env}); len(es) != 1 || strings.Count(es[0].Msg, "NOPE is not set") != 1 {
			t.Errorf("%q %v: %v, want one problem naming NOPE once", c.data, c.env, es)
		}
	}

	// Through a section decoded, the chain at its depth bound: it ends
	// with the problem, once.
	env := []string{"MYAPP_URL=${A0}"}
	for k, v := range chain(15, 8, "") {
		env = append(env, k+"="+v)
	}
	l := mustLoad(t, Options{Data: []byte("stream:\n  bindings:\n    o-out-0:\n      destination: o\n"), Logger: discard, Env: env})
	var own struct {
		URL string `mapstructure:"url"`
	}
	if err := l.Decode("myapp", &own); err == nil || !strings.Contains(err.Error(), "environment variable A15 is not set") {
		t.Errorf("Decode: %v", err)
	}
}
