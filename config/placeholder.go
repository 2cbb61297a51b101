package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// expandPlaceholders replaces every ${VAR} and ${VAR:default} in s with the
// value of environment variable VAR, or with default (itself expanded) when
// VAR is unset. A variable that is set but empty counts as set. The default
// may be empty and may contain ':'. Values substituted are not expanded
// again. It returns the problems found: unset variables without a default,
// empty names and unterminated placeholders (left in the result as
// written).
func expandPlaceholders(s string, env map[string]string) (string, []string) {
	return expandNested(s, env, 0)
}

// maxPlaceholderDepth bounds defaults nested in defaults
// (${A:${B:${C:x}}}): deeper nesting is refused rather than expanded in
// quadratic time.
const maxPlaceholderDepth = 16

func expandNested(s string, env map[string]string, depth int) (string, []string) {
	if depth > maxPlaceholderDepth {
		return s, []string{fmt.Sprintf("placeholders nested more than %d deep", maxPlaceholderDepth)}
	}
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var probs []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		end := closingBrace(s, i+2)
		if end < 0 {
			probs = append(probs, fmt.Sprintf("unterminated placeholder %s (missing '}')", quoteShort(s[i:])))
			b.WriteString(s[i:])
			break
		}
		whole, inner := s[i:end+1], s[i+2:end]
		name, def, hasDef := strings.Cut(inner, ":")
		switch {
		case name == "":
			probs = append(probs, fmt.Sprintf("placeholder %s names no variable", quoteShort(whole)))
			b.WriteString(whole)
		case strings.ContainsAny(name, "${}"):
			probs = append(probs, fmt.Sprintf("placeholder %s: a variable name cannot contain '$', '{' or '}'", quoteShort(whole)))
			b.WriteString(whole)
		default:
			if val, ok := env[name]; ok {
				b.WriteString(val)
			} else if hasDef {
				d, p := expandNested(def, env, depth+1)
				probs = append(probs, p...)
				b.WriteString(d)
			} else {
				probs = append(probs, fmt.Sprintf("environment variable %s is not set (placeholder ${%s}; write ${%s:default} to give a default)", name, name, name))
			}
		}
		s = s[end+1:]
	}
	return b.String(), probs
}

// closingBrace returns the index of the '}' that closes a placeholder whose
// name starts at from, counting nested "${", or -1.
func closingBrace(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch {
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			depth++
			j++
		case s[j] == '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// quoteShort quotes s, cut to a readable length.
func quoteShort(s string) string {
	const limit = 60
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// resolvePlaceholders expands the placeholders of every string in tree v
// (at key path path), in place for maps, and returns the new value. Each
// problem is reported through fail with the key path.
func resolvePlaceholders(v any, path string, env map[string]string, fail func(path, msg string)) any {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			v[k] = resolvePlaceholders(v[k], p, env, fail)
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, it := range v {
			out[i] = resolvePlaceholders(it, path+"["+strconv.Itoa(i)+"]", env, fail)
		}
		return out
	case string:
		s, probs := expandPlaceholders(v, env)
		for _, p := range probs {
			fail(path, p)
		}
		return s
	default:
		return v
	}
}
