// Package redact removes secrets from what streambind shows: configuration
// trees served by the management endpoint, URLs and strings in errors and
// logs (amqp.URI.String() and friends include the password).
package redact

import (
	"regexp"
	"strings"
)

// Redacted is what a secret is replaced with.
const Redacted = "******"

// IsSecretKey reports whether a configuration key names a secret.
func IsSecretKey(key string) bool { return secretKey.MatchString(key) }

// secretKey matches the names of keys whose values are secrets.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|secret|token|credential|private[-_]?key|api[-_]?key|sasl.*(pass|jaas))`)

// userinfo matches the credentials of URLs inside longer strings: the user
// may be empty ("redis://:pw@host"), and the password runs to the last '@'
// before the host (a raw '@' in it is invalid but common), without crossing
// a space, '/' or ',' (a list of URLs).
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s,]*:)[^\s/,]*@`)

// Tree returns a deep copy of a configuration tree with secrets
// replaced: values of keys that name secrets, and passwords in URLs.
func Tree(v any) any {
	return redact("", v)
}

func redact(key string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, sub := range t {
			out[k] = redact(k, sub)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, sub := range t {
			out[i] = redact(key, sub)
		}
		return out
	case string:
		if secretKey.MatchString(key) && t != "" {
			return Redacted
		}
		return String(t)
	default:
		if secretKey.MatchString(key) && v != nil {
			return Redacted
		}
		return v
	}
}

// String removes the password of every URL in s
// ("amqp://user:pw@host" → "amqp://user:******@host").
func String(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}"+Redacted+"@")
}
