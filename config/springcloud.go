package config

import (
	"slices"

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
		for _, k := range sortedKeys(m) {
			if knownKey(k, known) {
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
		check(fn, "spring.cloud.function", functionKeys, -1,
			"streambind reads spring.cloud.function.definition and routing-expression; a misspelt one would be ignored")
	}
	return errs
}

// functionKeys are the keys of spring.cloud.function that streambind
// reads.
var functionKeys = []string{"definition", "routing-expression"}

// knownKey reports whether k is one of known, relaxed (squash).
func knownKey(k string, known []string) bool {
	return slices.ContainsFunc(known, func(kn string) bool { return squash(k) == squash(kn) })
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

// ignoredSpringCloud warns of the keys under spring.cloud that SCSt
// services set and streambind does not read, so that none is ignored
// without a word: Spring Cloud Function's other than definition and
// routing-expression (configuration.<fn>.input-header-mapping-expression,
// ineligible-definitions, scan ...), and SCSt's schema registry client and
// Avro converter (schema-registry-client, schema). Misspellings of the
// keys streambind reads are misspeltSpringCloud's errors.
func ignoredSpringCloud(raw map[string]any, origins map[string]string) []*stream.ConfigError {
	spring, _ := raw["spring"].(map[string]any)
	cloud, _ := spring["cloud"].(map[string]any)
	fn, _ := cloud["function"].(map[string]any)
	var warns []*stream.ConfigError
	warn := func(path, why string) {
		warns = append(warns, &stream.ConfigError{Path: path, Origin: originOfTree(origins, path), Msg: "ignored: " + why})
	}
	for _, k := range sortedKeys(fn) {
		// One a typo from a key read is misspeltSpringCloud's error.
		if !knownKey(k, functionKeys) && suggest(k, functionKeys) == "" {
			warn("spring.cloud.function."+k, "streambind reads only spring.cloud.function.definition and routing-expression of Spring Cloud Function's keys (a function's headers and conversions are set in code)")
		}
	}
	for _, k := range []string{"schema-registry-client", "schema"} {
		for ck := range cloud {
			if squash(ck) == squash(k) {
				warn("spring.cloud."+ck, "streambind has no schema registry client or Avro converter: a content type such as application/*+avro needs a converter registered in code (stream.WithConverter)")
			}
		}
	}
	return warns
}
