package config

import (
	"strings"
	"testing"
)

// As Spring Framework 6.2's PlaceholderParser (Spring Boot 3.4+), a
// backslash before "${" escapes it: \${X} is the literal ${X}, the text
// after the escaped "${" read on as text; a backslash before the ':' of a
// name is a ':' of the name. It was an unresolved placeholder (an error
// when X is unset).
func TestExpandPlaceholdersEscape(t *testing.T) {
	env := map[string]string{"A": "1", "B": "2", "gsm://one": "g"}
	for _, tc := range []struct {
		in, want string
		probs    int
	}{
		{`\${NOT_RESOLVED}`, "${NOT_RESOLVED}", 0},
		{`x\${A}y${B}`, "x${A}y2", 0},
		{`\${A:${B}}`, "${A:2}", 0},     // the text after the escape is read on
		{`${C:\${A}}`, "${A}", 0},       // an escaped default
		{`${A:\${C}}`, "1", 0},          // the default unused
		{`\\${A}`, `\${A}`, 0},          // the escape is not escaped
		{`\${A`, `\${A`, 0},             // no placeholder: as written
		{`\${A ${B}`, `\${A 2`, 0},      // likewise, the next one replaced
		{`${gsm\://one}`, "g", 0},       // an escaped ':' of a name
		{`${C\:x:d}`, "d", 0},           // its default after the first ':' not escaped
		{`${C:x\:y}`, `x\:y`, 0},        // a default's "\:" as written, as in Spring
		{`${C\:x}`, "", 1},              // the name C:x, unset
		{`a\b\$c\{d}`, `a\b\$c\{d}`, 0}, // other backslashes as they are
		{`${A}\${A}\${A}${A}`, "1${A}${A}1", 0},
	} {
		got, probs := expandPlaceholders(tc.in, env)
		if got != tc.want || len(probs) != tc.probs {
			t.Errorf("expandPlaceholders(%q) = %q, %q; want %q and %d problems", tc.in, got, probs, tc.want, tc.probs)
		}
	}
	if got := placeholderNames(`\${A} ${B} \${C:${D}}`); got != "${B}, ${D}" {
		t.Errorf("placeholderNames = %q, want the placeholders not escaped", got)
	}
}

// The newcomer's file: `escaped: \${NOT_RESOLVED}` failed start-up with
// "environment variable NOT_RESOLVED is not set". It is the literal, in
// YAML and in .properties (where, as in Spring Boot, the backslash is
// itself written escaped), and a key referring to it gets the literal.
func TestPlaceholderEscapedInAFile(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"application.yaml", "escaped: \\${NOT_RESOLVED}\nref: ${escaped}\nquoted: \"\\\\${NOT_RESOLVED}\"\nmixed: \\${A:${B}}\n"},
		{"application.properties", "escaped=\\\\${NOT_RESOLVED}\nref=${escaped}\nquoted=\\\\${NOT_RESOLVED}\nmixed=\\\\${A:${B}}\n"},
	} {
		l := mustLoad(t, Options{Name: tc.name, Data: []byte(tc.data), Env: []string{"B=2"}, Logger: discard})
		for k, want := range map[string]string{"escaped": "${NOT_RESOLVED}", "ref": "${NOT_RESOLVED}", "quoted": "${NOT_RESOLVED}", "mixed": "${A:2}"} {
			if l.Raw[k] != want {
				t.Errorf("%s: %s = %v, want %s", tc.name, k, l.Raw[k], want)
			}
		}
	}
	// A stream key takes the literal too, and a problem with it does not
	// claim a placeholder gave it.
	es := configErrors(t, Options{Data: []byte("stream.bindings.f-in-0.consumer.max-attempts: \\${B}\n"), Env: []string{"B=3"}})
	if len(es) != 1 || !strings.Contains(es[0].Msg, `"${B}"`) || strings.Contains(es[0].Msg, "value from") {
		t.Errorf("max-attempts: %v; want one error naming the literal ${B}, not a placeholder", es)
	}
}

// Imports resolve their locations' placeholders as any value: an escaped
// one is the literal "${" of a file name.
func TestImportPlaceholderEscaped(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml": "spring.config.import: lit\\${X}.yaml\n",
		"lit${X}.yaml":     "k: v\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{}, Logger: discard})
	if l.Raw["k"] != "v" {
		t.Errorf("k = %v, want v from lit${X}.yaml", l.Raw["k"])
	}
}
