package config

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRandomPlaceholders: ${random.*} gives Spring Boot's random values
// (RandomValuePropertySource), so that an SCSt file's
// group: ${random.uuid} loads as it runs under Spring; a malformed range
// is a problem at its key.
func TestRandomPlaceholders(t *testing.T) {
	yaml := `stream:
  bindings:
    a-in-0: { group: "${random.uuid}", destination: "${random.value}" }
    b-in-0: { group: "${random.uuid}", destination: "d${random.int(10)}" }
    c-in-0: { destination: "${random.int[5,7]}", group: "${random.long(3,4)}" }
    d-in-0: { destination: "${random.int}", group: "${random.long}" }
    e-in-0: { destination: "${random.whatever}" }
`
	l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{}})
	b := l.Stream.Bindings
	uuidRe := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	hexRe := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if !uuidRe.MatchString(b["a-in-0"].Group) || !uuidRe.MatchString(b["b-in-0"].Group) {
		t.Errorf("random.uuid gave %q and %q", b["a-in-0"].Group, b["b-in-0"].Group)
	}
	if b["a-in-0"].Group == b["b-in-0"].Group {
		t.Errorf("two ${random.uuid} gave the same %q; want one each", b["a-in-0"].Group)
	}
	if !hexRe.MatchString(b["a-in-0"].Destination) || !hexRe.MatchString(b["e-in-0"].Destination) {
		t.Errorf("random.value gave %q, random.whatever %q; want 32 hex digits", b["a-in-0"].Destination, b["e-in-0"].Destination)
	}
	inRange := func(s string, lo, hi int64) bool {
		n, err := strconv.ParseInt(s, 10, 64)
		return err == nil && lo <= n && n < hi
	}
	if d := strings.TrimPrefix(b["b-in-0"].Destination, "d"); !inRange(d, 0, 10) {
		t.Errorf("random.int(10) gave %q", d)
	}
	if d := b["c-in-0"].Destination; !inRange(d, 5, 7) {
		t.Errorf("random.int[5,7] gave %q", d)
	}
	if g := b["c-in-0"].Group; g != "3" {
		t.Errorf("random.long(3,4) gave %q; want 3", g)
	}
	if d := b["d-in-0"].Destination; !inRange(d, -1<<31, 1<<31) {
		t.Errorf("random.int gave %q", d)
	}
	if _, err := strconv.ParseInt(b["d-in-0"].Group, 10, 64); err != nil {
		t.Errorf("random.long gave %q", b["d-in-0"].Group)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"stream:\n  default-binder: ${random.int(x)}\n", `stream.default-binder (application.yaml:2): placeholder ${random.int(x)}: bound "x" is not an integer`},
		{"stream:\n  default-binder: ${random.int[5,5]}\n", "placeholder ${random.int[5,5]}: min 5 is not below max 5"},
		{"stream:\n  default-binder: ${random.int(1,2,3)}\n", `"1,2,3" has 3 bounds`},
		{"stream:\n  default-binder: ${random.int(9999999999)}\n", `bound "9999999999" is not an integer in [-2147483648, 2147483647]`},
	} {
		es := configErrors(t, Options{Data: []byte(tc.yaml), Env: []string{}})
		if len(es) != 1 || !strings.Contains(es[0].Error(), tc.want) {
			t.Errorf("%q: problems %q; want one containing %q", tc.yaml, es, tc.want)
		}
	}
}
