package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/streambind/streambind/stream"
)

// misspeltSpringCloud reports the keys under spring.cloud and
// spring.cloud.function that are one typo from those streambind reads
// there (stream, function; definition, routing-expression, configuration): the rest of
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
	check(cloud, "spring.cloud", springCloudKeys, 1, springCloudMisspelt)
	if fn, ok := cloud["function"].(map[string]any); ok {
		check(fn, "spring.cloud.function", functionKeys, -1, functionMisspelt)
	}
	return errs
}

// springCloudKeys are the keys of spring.cloud that streambind reads.
var springCloudKeys = []string{"stream", "function"}

// The reasons of the problems and warnings of spring.cloud's keys, the
// same for a file's key and a variable's (springCloudEnvVar).
const (
	springCloudMisspelt = "streambind reads spring.cloud.stream and spring.cloud.function; a misspelt one would be ignored"
	functionMisspelt    = "streambind reads spring.cloud.function.definition, routing-expression and configuration; a misspelt one would be ignored"
	functionIgnored     = "streambind reads only spring.cloud.function.definition, routing-expression and configuration.<fn>'s header mappings of Spring Cloud Function's keys (a function's conversions are set in code)"
	schemaIgnored       = "streambind has no schema registry client or Avro converter: a content type such as application/*+avro needs a converter registered in code (stream.WithConverter)"
)

// springCloudSchemaKeys are SCSt's schema registry client's and Avro
// converter's keys of spring.cloud, which ignoredSpringCloud warns of.
var springCloudSchemaKeys = []string{"schema-registry-client", "schema"}

// springCloudEnvVar gives a variable under SPRING_CLOUD_ (toks, its
// tokens; not SPRING_CLOUD_STREAM_ nor the Spring Cloud Function variables
// the stream section reads, isStreamVar) that names no key the files or
// the framework have the outcome its key has in a file: a misspelling of
// stream or function (SPRING_CLOUD_STREM_...) or of a key of
// spring.cloud.function read (SPRING_CLOUD_FUNCTION_DEFINITON) an error
// (misspeltSpringCloud), a key of Spring Cloud Function's not read or of
// the schema registry client a warning (ignoredSpringCloud); ok is false
// for the rest of spring.cloud (other projects': ignored, as in a file).
// These variables were ignored without a word.
func springCloudEnvVar(toks []string) (path, msg string, isErr, ok bool) {
	if len(toks) < 3 || toks[0] != "SPRING" || toks[1] != "CLOUD" || hasEmpty(toks) {
		return "", "", false, false
	}
	k := strings.ToLower(toks[2])
	if !knownKey(k, springCloudKeys) {
		if s := suggest(k, springCloudKeys); s != "" && levenshtein(squash(k), squash(s)) <= 1 {
			return "spring.cloud." + k, "unknown key; did you mean " + s + "? (" + springCloudMisspelt + ")", true, true
		}
		for _, sk := range springCloudSchemaKeys {
			if squash(sk) == k {
				return "spring.cloud." + k, "ignored: " + schemaIgnored, false, true
			}
		}
		return "", "", false, false
	}
	if k != "function" || len(toks) < 4 {
		return "", "", false, false
	}
	// The key of spring.cloud.function that the tokens start with: one
	// read (its name in one token or in several) is not ours here.
	rest := toks[3:]
	for n := 1; n <= len(rest); n++ {
		if knownKey(strings.Join(rest[:n], ""), functionKeys) {
			return "", "", false, false
		}
	}
	fk := strings.ToLower(rest[0])
	if s := suggest(fk, functionKeys); s != "" {
		return "spring.cloud.function." + fk, "unknown key; did you mean " + s + "? (" + functionMisspelt + ")", true, true
	}
	return "spring.cloud.function." + fk, "ignored: " + functionIgnored, false, true
}

// functionKeys are the keys of spring.cloud.function that streambind
// reads.
var functionKeys = []string{"definition", "routing-expression", "configuration"}

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
// routing-expression and configuration (ineligible-definitions, scan ...;
// and of configuration.<fn>, copy-input-headers: ignoredFunctionSettings), and SCSt's schema registry client and
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
	warns = append(warns, ignoredFunctionSettings(fn, "spring.cloud.function", origins)...)
	streamSection, _ := raw["stream"].(map[string]any)
	sfn, _ := streamSection["function"].(map[string]any)
	warns = append(warns, ignoredFunctionSettings(sfn, "stream.function", origins)...)
	for _, k := range sortedKeys(fn) {
		// One a typo from a key read is misspeltSpringCloud's error.
		if !knownKey(k, functionKeys) && suggest(k, functionKeys) == "" {
			warn("spring.cloud.function."+k, functionIgnored)
		}
	}
	for _, k := range springCloudSchemaKeys {
		for ck := range cloud {
			if squash(ck) == squash(k) {
				warn("spring.cloud."+ck, schemaIgnored)
			}
		}
	}
	return warns
}

// functionSettingsKeys are the keys of spring.cloud.function.configuration.<fn>
// that streambind reads (stream.FunctionSettings).
var functionSettingsKeys = []string{"input-header-mapping-expression", "output-header-mapping-expression"}

// ignoredFunctionSettings removes, with a warning each, the keys of
// <path>.configuration.<fn> (fn is the map at path) that streambind does
// not read: SCF's copy-input-headers (a function's payload output carries
// its input's headers here anyway) and any other. A key one typo from one
// it reads is left for the unknown-key error.
func ignoredFunctionSettings(fn map[string]any, path string, origins map[string]string) (warns []*stream.ConfigError) {
	ck, ok := mapKey(fn, "configuration")
	if !ok {
		return nil
	}
	conf, _ := fn[ck].(map[string]any)
	for _, name := range sortedKeys(conf) {
		m, _ := conf[name].(map[string]any)
		for _, k := range sortedKeys(m) {
			if knownKey(k, functionSettingsKeys) || suggest(k, functionSettingsKeys) != "" {
				continue
			}
			p := path + "." + ck + "." + name + "." + k
			why := "streambind reads only input-header-mapping-expression and output-header-mapping-expression of a function's Spring Cloud Function configuration"
			if squash(k) == "copyinputheaders" {
				why = "a function that returns a payload carries its input's headers here anyway (docs/conventions.md), and one that returns a Message sets its headers itself"
			}
			warns = append(warns, &stream.ConfigError{Path: p, Origin: originOfTree(origins, p), Msg: "ignored: " + why})
			delete(m, k)
		}
	}
	return warns
}

// badHeaderNames refuses, at its key and file:line, each header name of
// stream.function.configuration.<fn>.input-/output-header-mapping-expression
// that names no header: an empty one ("" or "[]", which would collide),
// one with an empty part (a..b), or one that keeps a bracket (a[0],
// [a.b without its ']'); and an input index other than 0 written with
// digits (00, 01), which would be taken for it. A name is kept as
// written otherwise (configSchema), as Spring Boot binds the map's keys.
func badHeaderNames(raw map[string]any, origins map[string]string) (errs []*stream.ConfigError) {
	st, _ := raw["stream"].(map[string]any)
	fn, _ := st["function"].(map[string]any)
	conf, _ := fn["configuration"].(map[string]any)
	for _, name := range sortedKeys(conf) {
		m, _ := conf[name].(map[string]any)
		for _, k := range sortedKeys(m) {
			if !knownKey(k, functionSettingsKeys) {
				continue
			}
			hm, _ := m[k].(map[string]any)
			errs = append(errs, badHeaderNamesAt(hm, "stream.function.configuration."+name+"."+k, origins, true)...)
		}
	}
	return errs
}

// badHeaderNamesAt checks the header names of mappings m at path (top: the
// mappings' first level, where 0 is the input index).
func badHeaderNamesAt(m map[string]any, path string, origins map[string]string, top bool) (errs []*stream.ConfigError) {
	for _, k := range sortedKeys(m) {
		p := path + "." + k
		sub, isMap := m[k].(map[string]any)
		var msg string
		switch {
		case strings.Trim(k, "[]") == "":
			msg = "an empty header name: name the header"
		case strings.ContainsAny(k, "[]"):
			msg = fmt.Sprintf("header name %q holds a bracket: a name holding dots is written [a.b], whole; other brackets are no header name", k)
		case slices.Contains(strings.Split(k, "."), ""):
			msg = fmt.Sprintf("header name %q has an empty part between dots", k)
		case top && isMap && k != "0" && strings.Trim(k, "0123456789") == "" && strings.HasPrefix(k, "0"):
			msg = fmt.Sprintf("input index %q: the index is written 0 (a function here has one input)", k)
		}
		if msg != "" {
			errs = append(errs, &stream.ConfigError{Path: p, Origin: originOfTree(origins, p), Msg: msg})
			delete(m, k) // reported once, not again as no header
			continue
		}
		if isMap {
			errs = append(errs, badHeaderNamesAt(sub, p, origins, false)...)
		}
	}
	return errs
}
