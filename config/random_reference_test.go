package config

import (
	"regexp"
	"strings"
	"testing"
)

// TestRandomThroughReferenceDrawsAnew: a key whose value is a random
// placeholder, reached through another key's placeholder, resolves anew
// at each reference, as in Spring Boot (RandomValuePropertySource is
// asked each time a placeholder resolves: spring-boot#7009, #9130,
// #25124): a: ${random.uuid}, b: ${a} give b a UUID of its own, and
// ${a}/${a} two. The value of a key that refers to no random value is
// still resolved once. Before, b took a's UUID.
func TestRandomThroughReferenceDrawsAnew(t *testing.T) {
	const yaml = `my:
  a: ${random.uuid}
  b: ${my.a}
  c: ${my.b}
  d: ${my.a}/${my.a}
  e: ${E}
  f: ${E}
  g: x${my.plain}
  h: ${my.plain}
  plain: ${P}
  z: ${my.zz}
  zz: ${random.int}
`
	l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{"E=${random.uuid}", "P=p"}})
	my, _ := l.Raw["my"].(map[string]any)
	get := func(k string) string { s, _ := my[k].(string); return s }
	uuidRe := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	d1, d2, _ := strings.Cut(get("d"), "/")
	seen := map[string]string{}
	for k, v := range map[string]string{"a": get("a"), "b": get("b"), "c": get("c"), "d[0]": d1, "d[1]": d2, "e": get("e"), "f": get("f")} {
		if !uuidRe.MatchString(v) {
			t.Errorf("my.%s = %q, want a UUID", k, v)
			continue
		}
		if o, dup := seen[v]; dup {
			t.Errorf("my.%s and my.%s have one UUID %s: each reference draws its own", k, o, v)
		}
		seen[v] = k
	}
	if get("z") == get("zz") && get("z") != "" {
		// 1 in 2^32 that two draws agree.
		t.Errorf("my.z = my.zz = %s: the reference drew no value of its own", get("z"))
	}
	if get("g") != "xp" || get("h") != "p" || get("plain") != "p" {
		t.Errorf("g, h, plain = %q, %q, %q; want xp, p, p", get("g"), get("h"), get("plain"))
	}
}
