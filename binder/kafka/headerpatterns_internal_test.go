package kafka

import "testing"

// TestHeaderPatternsMatch: SCSt's header-patterns semantics — first match
// wins, '!' negates, '*' anywhere, case aside, no match: not written; id
// always and timestamp never, whatever the patterns say.
func TestHeaderPatternsMatch(t *testing.T) {
	cases := []struct {
		patterns string
		yes, no  []string
	}{
		{"!secret*,*", []string{"x-tenant", "contentType", "x-secret"}, []string{"secret", "secretToken", "SecretKey", "timestamp"}},
		{"!ask,as*", []string{"ash", "ASH", "as"}, []string{"ask", "Ask", "bash"}},
		{"a*b*c,!*", []string{"abc", "aXbYc", "abbc", "id"}, []string{"ab", "abcd", "xabc", "TIMESTAMP"}},
		{"*-id,!id", []string{"x-id", "id"}, []string{"x-ide"}},
	}
	for _, c := range cases {
		hp, err := parseHeaderPatterns(c.patterns)
		if err != nil {
			t.Fatalf("%q: %v", c.patterns, err)
		}
		for _, h := range c.yes {
			if !hp.writes(h) {
				t.Errorf("%q: %s not written", c.patterns, h)
			}
		}
		for _, h := range c.no {
			if hp.writes(h) {
				t.Errorf("%q: %s written", c.patterns, h)
			}
		}
	}
	for _, v := range []any{" * ", "", " , ", []any{}, nil} {
		if hp, err := parseHeaderPatterns(v); err != nil || hp != nil {
			t.Errorf("%#v: %v, %v; want nil (every header)", v, hp, err)
		}
	}
}
