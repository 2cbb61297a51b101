package config

import (
	"strconv"
	"strings"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// unclosedPlaceholders returns a warning for each value of raw, its
// placeholders resolved, that holds a "${" with no closing '}' (not
// escaped): as Spring Framework 6.2's PlaceholderParser, such a "${" is
// text, no error, so destination: ${KAFKA_TOPIC, a '}' forgotten, names
// the destination "${KAFKA_TOPIC" that RabbitMQ and NATS then create.
// The warning names the key and where it was set, and from expandedFrom
// the placeholders that filled it (a variable's value can hold the
// "${"). The text is quoted but for a secret's value (secretPaths, a
// secret key), which it only says holds one. The keys of literal (a
// configuration tree's) and the profile names (refused as names) are
// left out.
func unclosedPlaceholders(raw map[string]any, origins map[string]string, literal func(path string) bool, secretPaths map[string]bool, expandedFrom map[string]string) []*stream.ConfigError {
	var out []*stream.ConfigError
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(v) {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(v[k], p)
			}
		case []any:
			for i, it := range v {
				walk(it, path+"["+strconv.Itoa(i)+"]")
			}
		case string:
			i := unclosedAt(v)
			if i < 0 || (literal != nil && literal(path)) || profileNameKey(path) {
				return
			}
			msg := "the value holds a \"${\" with no closing '}'"
			if secretPaths[path] || redact.IsSecretKey(path) {
				msg += " (a secret's value, not shown)"
			} else {
				msg += ": " + quoteShort(v[i:])
			}
			if from := expandedFrom[strings.ToLower(path)]; from != "" {
				msg += "; value from " + from
			}
			msg += "; as in Spring, it is taken as text, not as a placeholder: close it with '}' if a placeholder was meant"
			out = append(out, &stream.ConfigError{Path: path, Origin: originOfValue(origins, path), Msg: msg})
		}
	}
	walk(raw, "")
	return out
}

// unclosedAt returns the index in s of the first "${" that is not
// escaped and has no closing '}' (a "${" of the text, as
// expandObserved takes it), or -1.
func unclosedAt(s string) int {
	if !strings.Contains(s, "${") {
		return -1
	}
	c := braceCloser{s: s}
	for off := 0; ; {
		j := strings.Index(s[off:], "${")
		if j < 0 {
			return -1
		}
		i := off + j
		if !escapedAt(s, i) && c.closing(i) < 0 {
			return i
		}
		off = i + 2
	}
}

// profileNameKey reports whether path holds profile names
// (spring.profiles.active, include, default, group.<name>): a name
// holding "${" is refused there, not warned of.
func profileNameKey(path string) bool {
	p := strings.ToLower(path)
	if i := strings.IndexByte(p, '['); i >= 0 {
		p = p[:i]
	}
	switch p {
	case "spring.profiles.active", "spring.profiles.include", "spring.profiles.default":
		return true
	}
	return strings.HasPrefix(p, "spring.profiles.group.")
}
