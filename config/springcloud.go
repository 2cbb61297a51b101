package config

import (
	"sort"

	"github.com/streambind/streambind/stream"
)

// misspeltSpringCloud reports the keys under spring.cloud and
// spring.cloud.function that are one typo from those streambind reads
// there (stream, function; definition, routing-expression): the rest of
// those namespaces is Spring Cloud's and other projects' and is kept
// unread, so such a key would be ignored without a word, and with
// spring.cloud.function.defintion no function list would be read at all.
func misspeltSpringCloud(raw map[string]any, origins map[string]string) []*stream.ConfigError {
	spring, _ := raw["spring"].(map[string]any)
	cloud, _ := spring["cloud"].(map[string]any)
	var errs []*stream.ConfigError
	// near: at most this many typos (1 at spring.cloud, whose other keys
	// are other projects' short names; the usual rule below function).
	check := func(m map[string]any, path string, known []string, near int, what string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			isKnown := false
			for _, kn := range known {
				if squash(k) == squash(kn) {
					isKnown = true
				}
			}
			if isKnown {
				continue
			}
			if s := suggest(k, known); s != "" && (near < 0 || levenshtein(squash(k), squash(s)) <= near) {
				p := path + "." + k
				errs = append(errs, &stream.ConfigError{Path: p, Origin: originOfTree(origins, p),
					Msg: "unknown key; did you mean " + s + "? (" + what + ")"})
			}
		}
	}
	check(cloud, "spring.cloud", []string{"stream", "function"}, 1,
		"streambind reads spring.cloud.stream and spring.cloud.function; a misspelt one would be ignored")
	if fn, ok := cloud["function"].(map[string]any); ok {
		check(fn, "spring.cloud.function", []string{"definition", "routing-expression"}, -1,
			"streambind reads spring.cloud.function.definition and routing-expression; a misspelt one would be ignored")
	}
	return errs
}

// originOfTree is the origin of path, or of the first key set below it
// (a map's own origin is not always recorded).
func originOfTree(origins map[string]string, path string) string {
	if o := originOf(origins, path); o != "" {
		return o
	}
	prefix := path + "."
	best := ""
	for k := range origins {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix && (best == "" || k < best) {
			best = k
		}
	}
	return origins[best]
}
