package config

import (
	"math/rand"
	"strings"
	"testing"
)

// Since a "${" with no closing '}' is text read on (9cf88a0, as Spring's
// PlaceholderParser), each such "${" scanned the rest of the text for its
// '}': a value full of "${" (or of escaped "\${" closed only at its end)
// cost time quadratic in its length, a 1 MiB value minutes at start-up
// (expandObserved, splitList, placeholderNames). braceCloser finds the
// closing '}' in linear time over all of them, with the same answers as
// closingBrace.
func TestPlaceholderBraceScanLinear(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 2000; n++ {
		var b strings.Builder
		for l := rng.Intn(40); l > 0; l-- {
			b.WriteByte("${}\\a:"[rng.Intn(6)])
		}
		s := b.String()
		c := braceCloser{s: s, scanned: 3 * len(s)} // the one-pass table at once
		for i := 0; i+1 < len(s); i++ {
			if s[i] == '$' && s[i+1] == '{' {
				if got, want := c.closing(i), closingBrace(s, i+2); got != want {
					t.Fatalf("%q: closing(%d) = %d, closingBrace %d", s, i, got, want)
				}
			}
		}
	}

	const size = 1 << 20
	for _, s := range []string{
		strings.Repeat("${", size/2),
		strings.Repeat(`\${`, size/4) + strings.Repeat("}", size/4),
		"${" + strings.Repeat("{", size),
		strings.Repeat("${A ", size/4) + "${B}",
	} {
		c := braceCloser{s: s}
		for i := strings.Index(s, "${"); i >= 0; {
			c.closing(i)
			j := strings.Index(s[i+2:], "${")
			if j < 0 {
				break
			}
			i += 2 + j
		}
		if c.scanned > 3*len(s) {
			t.Errorf("%.12q...: the '}' of every \"${\" found scanning %d bytes of %d", s, c.scanned, len(s))
		}
		if c.match == nil && strings.Count(s, "${") > 1000 {
			t.Errorf("%.12q...: no one-pass table", s)
		}
	}

	// The loader's paths over such a value, with the expected results.
	env := map[string]string{"B": "b"}
	s := strings.Repeat("${A ", size/8) + "${B}"
	if got, probs := expandPlaceholders(s, env); got != s[:len(s)-4]+"b" || len(probs) != 0 {
		t.Errorf("expandPlaceholders: %d bytes, problems %q", len(got), probs)
	}
	if got := placeholderNames(s); got != "${B}" {
		t.Errorf("placeholderNames = %.40q", got)
	}
	if got := splitList(strings.Repeat("${,", size/3)); len(got) != size/3+1 {
		t.Errorf("splitList: %d parts", len(got))
	}
	dir := writeFiles(t, map[string]string{"application.yaml": "stream:\n  bindings:\n    o-out-0:\n      destination: '" + strings.Repeat("${", size/2) + "'\n"})
	if l := mustLoad(t, Options{Dir: dir, Logger: discard, Env: []string{}}); len(l.Stream.Binding("o-out-0").Destination) != size {
		t.Errorf("destination of %d bytes", len(l.Stream.Binding("o-out-0").Destination))
	}
}
