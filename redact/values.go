package redact

import (
	"slices"
	"strconv"
	"strings"
)

// Values hides secrets known by their value wherever they occur: the
// values that placeholders whose variable or property name is a secret
// (${DB_PASSWORD}, ${spring.rabbitmq.password}) filled into keys that are
// not. The key of such a value does not say it is secret, nor does that of
// a value made from it (spring.rabbitmq.port into addresses host:port), so
// the value itself is looked for: in messages ([Values.String]) and in the
// leaves of a tree ([Values.Tree]).
//
// A value is found as it is, with the blanks around it trimmed, and as
// Go's %q writes it inside quotes (a '"' or a line break escaped), with
// ASCII letters compared regardless of case; a run of at least 8 bytes
// that starts the value and ends where a message cut it short
// ("abcdefgh...", `"abcdefgh"...`, or the end of the message) is hidden
// too. A value shorter than minWord bytes ("1", "abc") is hidden only
// where it is the whole text or stands in quotes (got "1"): found inside
// other text it hid digits of addresses and defaults, and told what it
// was. A number or boolean leaf of a tree is hidden when it equals a value.
// The zero Values hides nothing.
type Values struct {
	forms []string // longest first
}

// minPrefix is the shortest start of a secret hidden on its own.
const minPrefix = 8

// minWord is the shortest secret hidden inside other text.
const minWord = 4

// Add adds secret value s (an empty one is ignored).
func (v *Values) Add(s string) {
	for _, f := range []string{s, strings.TrimSpace(s), quoteInner(s), quoteInner(strings.TrimSpace(s))} {
		if f != "" && !slices.Contains(v.forms, f) {
			v.forms = append(v.forms, f)
		}
	}
	slices.SortStableFunc(v.forms, func(a, b string) int { return len(b) - len(a) })
}

// Len returns the number of forms held: 0 when there is nothing to hide.
func (v *Values) Len() int {
	if v == nil {
		return 0
	}
	return len(v.forms)
}

func quoteInner(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// Contains reports whether s holds one of the secret values.
func (v *Values) Contains(s string) bool {
	return v.Len() > 0 && v.String(s) != s
}

// String returns s with every known secret value in it replaced by
// [Redacted]. It takes time linear in len(s) for each value held (a cut
// short start is looked for only where s is cut, up to maxCut bytes).
func (v *Values) String(s string) string {
	if v.Len() == 0 || s == "" {
		return s
	}
	hide := make([]bool, len(s))
	found := false
	set := func(from, to int) {
		for j := from; j < to; j++ {
			hide[j] = true
		}
		found = true
	}
	low := foldASCII(s)
	var cuts []int // where s is cut: "...", `"...`, "…", its end
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "...") || strings.HasPrefix(s[i:], "…") {
			cuts = append(cuts, i)
			if i > 0 && s[i-1] == '"' {
				cuts = append(cuts, i-1)
			}
		}
	}
	cuts = append(cuts, len(s))
	for _, f := range v.forms {
		lf := foldASCII(f)
		if len(lf) < minWord {
			if strings.TrimSpace(low) == lf {
				set(0, len(s))
			}
			q := `"` + lf + `"`
			for off := 0; off < len(low); {
				j := strings.Index(low[off:], q)
				if j < 0 {
					break
				}
				set(off+j+1, off+j+1+len(lf))
				off += j + len(q)
			}
			continue
		}
		for off := 0; off < len(low); {
			j := strings.Index(low[off:], lf)
			if j < 0 {
				break
			}
			set(off+j, off+j+len(lf))
			off += j + len(lf)
		}
		for _, c := range cuts {
			for n := min(len(lf)-1, c, maxCut); n >= minPrefix; n-- {
				if low[c-n:c] == lf[:n] {
					set(c-n, c)
					break
				}
			}
		}
	}
	if !found {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hide[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(Redacted)
		for i < len(s) && hide[i] {
			i++
		}
	}
	return b.String()
}

// maxCut bounds the start of a secret looked for where a message is cut.
const maxCut = 256

// foldASCII lower-cases the ASCII letters of s (its length unchanged).
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return string(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Tree returns a copy of tree v (as [Tree] takes it) whose string leaves
// have the known secret values replaced (see [Values.String]), and whose
// other leaves (a number, a boolean) are replaced by [Redacted] when their
// text is one. Keys are kept.
func (v *Values) Tree(t any) any {
	if v.Len() == 0 {
		return t
	}
	switch x := t.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sub := range x {
			out[k] = v.Tree(sub)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, sub := range x {
			out[k] = v.String(sub)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, sub := range x {
			out[i] = v.Tree(sub)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, sub := range x {
			out[i] = v.String(sub)
		}
		return out
	case string:
		return v.String(x)
	case nil:
		return nil
	}
	if s := foldASCII(strings.TrimSpace(fmtScalar(t))); s != "" {
		for _, f := range v.forms {
			if foldASCII(strings.TrimSpace(f)) == s {
				return Redacted
			}
		}
	}
	return t
}

// fmtScalar is the text of a number or boolean leaf.
func fmtScalar(t any) string {
	switch x := t.(type) {
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return ""
}
