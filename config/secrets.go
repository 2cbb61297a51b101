package config

import (
	"strconv"
	"strings"

	"github.com/streambind/streambind/redact"
)

// Redacted returns a copy of Raw as it may be shown (a management
// endpoint, a dump): the values of SecretPaths hidden, the Secrets hidden
// wherever else they are, and then redact.Tree's rules (keys that name
// secrets, passwords in URLs).
func (l *Loaded) Redacted() map[string]any {
	t, _ := l.HideSecrets(l.Raw, "").(map[string]any)
	t, _ = redact.Tree(t).(map[string]any)
	return t
}

// HideSecrets returns a copy of v, the value at key path path of Raw (""
// for Raw itself), with the values of SecretPaths under it replaced by
// redact.Redacted and the Secrets hidden in every other value.
func (l *Loaded) HideSecrets(v any, path string) any {
	if l == nil {
		return v
	}
	return l.hideSecrets(v, strings.ToLower(path))
}

func (l *Loaded) hideSecrets(v any, path string) any {
	if l.SecretPaths[path] {
		if _, isMap := v.(map[string]any); !isMap && v != nil {
			return redact.Redacted
		}
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, sub := range t {
			p := strings.ToLower(k)
			if path != "" {
				p = path + "." + p
			}
			out[k] = l.hideSecrets(sub, p)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, sub := range t {
			out[i] = l.hideSecrets(sub, path+"["+strconv.Itoa(i)+"]")
		}
		return out
	}
	return l.Secrets.Tree(v)
}
