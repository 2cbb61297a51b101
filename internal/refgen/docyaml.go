package refgen

import (
	"fmt"
	"regexp"
	"strings"
)

// entry is one key of a settings block in a package doc comment:
//
//	key: value        # comment
//	  child: value    # nested under key
//	                  # a comment line continues the previous key's comment
//	a / b: value      (written "a: / b: value") and "a, b, c: value" give several keys one line
type entry struct {
	Key     string // dotted path within the block, kebab-case: "tls.ca-file"
	Value   string // as written: 1024, "", (none)
	Comment string // the comment, its lines joined
	Parent  bool   // other keys are nested under it
}

var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// parseBlock parses the lines of a settings block. where names the block
// in errors ("package binder/kafka, block 2").
func parseBlock(lines []string, where string) ([]entry, error) {
	type level struct {
		indent int
		key    string
	}
	var stack []level
	var out []entry
	for i, raw := range lines {
		line := strings.TrimRight(raw, " \t")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			if len(out) == 0 {
				continue // a comment before the first key
			}
			last := &out[len(out)-1]
			last.Comment = joinText(last.Comment, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
			continue
		}
		indent := len(line) - len(trimmed)
		keys, rest, err := splitKeys(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%s, line %d %q: %w", where, i+1, trimmed, err)
		}
		value, comment := splitComment(rest)
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		prefix := ""
		if len(stack) > 0 {
			prefix = stack[len(stack)-1].key + "."
			for j := range out {
				if out[j].Key == stack[len(stack)-1].key {
					out[j].Parent = true
				}
			}
		}
		for _, k := range keys {
			out = append(out, entry{Key: prefix + k, Value: value, Comment: comment})
		}
		if len(keys) == 1 {
			stack = append(stack, level{indent, prefix + keys[0]})
		}
	}
	return out, nil
}

// splitKeys splits "key: rest", "a, b: rest" and "a: / b: rest" into the
// keys and the rest of the line.
func splitKeys(s string) ([]string, string, error) {
	var keys []string
	for {
		i := strings.Index(s, ":")
		if i < 0 {
			return nil, "", fmt.Errorf("no \"key:\"")
		}
		for _, k := range strings.Split(s[:i], ",") {
			k = strings.TrimSpace(k)
			if !keyRE.MatchString(k) {
				return nil, "", fmt.Errorf("%q is not a kebab-case key", k)
			}
			keys = append(keys, k)
		}
		s = strings.TrimSpace(s[i+1:])
		if !strings.HasPrefix(s, "/ ") {
			return keys, s, nil
		}
		s = strings.TrimSpace(s[2:])
	}
}

// splitComment splits "value  # comment": the comment starts at the first
// '#' that begins the text or follows white space, outside quotes.
func splitComment(s string) (value, comment string) {
	if s == "" {
		return "", ""
	}
	if q := s[0]; q == '"' || q == '\'' {
		if j := strings.IndexByte(s[1:], q); j >= 0 {
			value, s = s[:j+2], s[j+2:]
			if k := strings.Index(s, "#"); k >= 0 {
				return value, strings.TrimSpace(s[k+1:])
			}
			return value, ""
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		}
	}
	return strings.TrimSpace(s), ""
}

func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

var (
	// "never (default)", "empty (the default)"
	defaultParenRE = regexp.MustCompile(`(\S+) \((?:the )?default\)`)
	// "default 5s", "default: the exporter's (...)", ending at ';' or the end
	defaultWordRE = regexp.MustCompile(`(?:^|[;,(]\s*)default:?\s+([^;]+?)\s*(?:;|$)`)
)

// commentDefault finds the default a comment states, for blocks whose
// values are examples rather than defaults (management, logging).
func commentDefault(c string) (string, bool) {
	if m := defaultParenRE.FindStringSubmatch(c); m != nil {
		return m[1], true
	}
	if m := defaultWordRE.FindStringSubmatch(c); m != nil {
		return m[1], true
	}
	return "", false
}
