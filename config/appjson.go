package config

import (
	"encoding/json"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/streambind/streambind/stream"
)

// EnvApplicationJSON is Spring Boot's variable holding configuration as
// one JSON object ({"stream":{"default-binder":"kafka"}}): its keys are
// read as a file's (validated alike, dotted keys standing for nested
// ones), over the files and over the other variables, as Spring Boot
// ranks it. Their origin is "env SPRING_APPLICATION_JSON".
const EnvApplicationJSON = "SPRING_APPLICATION_JSON"

// appJSONLayer returns the layer of SPRING_APPLICATION_JSON, or nil when
// it is unset or blank; a value that is not a JSON object is an error.
func appJSONLayer(env map[string]string, root *schema) (*layer, []*stream.ConfigError) {
	s, ok := env[EnvApplicationJSON]
	if !ok || len(s) == 0 {
		return nil, nil
	}
	origin := "env " + EnvApplicationJSON
	// A problem with the whole value has no key: its origin names the
	// variable (once).
	fail := func(msg string) []*stream.ConfigError {
		return []*stream.ConfigError{{Origin: origin, Msg: msg}}
	}
	var top any
	if err := json.Unmarshal([]byte(s), &top); err != nil {
		return nil, fail("not valid JSON: " + err.Error())
	}
	if _, ok := top.(map[string]any); !ok {
		return nil, fail("want a JSON object of keys ({\"stream\": {...}}), got " + describeJSON(top))
	}
	// JSON is YAML: the YAML reader gives the tree the files get, with
	// the same checks (duplicate keys, ...).
	docs, err := parseYAML(EnvApplicationJSON, []byte(s))
	if err != nil {
		p := fileProblem(err)
		if p.Path == EnvApplicationJSON {
			p.Path = ""
		}
		p.Origin = origin
		return nil, []*stream.ConfigError{p}
	}
	l := newLayer(EnvApplicationJSON)
	l.origin = origin
	if len(docs) == 1 && docs[0] != nil {
		l.mapping(docs[0], root, nil)
		writtenNames(docs[0], l.written)
	}
	return l, l.errs
}

// describeJSON names the kind of a decoded JSON value.
func describeJSON(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	}
	return "a value"
}

// appJSONProfileKeys returns the profile keys SPRING_APPLICATION_JSON
// sets (spring.profiles.active, include, default and group.<name>, nested
// or dotted), as a document holding only them, or nil when it sets none
// or is not a JSON object (appJSONLayer reports that). Spring Boot binds
// these keys from every property source, the JSON's above the system
// environment's, so they choose the profiles as the variables' do, and
// win over them. A key whose value is not a string or a list of strings
// is a problem (origin "env SPRING_APPLICATION_JSON").
func appJSONProfileKeys(env map[string]string) (*document, []*stream.ConfigError) {
	s := env[EnvApplicationJSON]
	if len(strings.TrimSpace(s)) == 0 {
		return nil, nil
	}
	docs, err := parseYAML(EnvApplicationJSON, []byte(s))
	if err != nil || len(docs) != 1 || docs[0] == nil {
		return nil, nil
	}
	return profileKeysOf(docs[0], EnvApplicationJSON, "env "+EnvApplicationJSON)
}

// profileKeysOf is appJSONProfileKeys for the tree root of a source above
// the files (SPRING_APPLICATION_JSON, the command line), named name, its
// keys' origin origin.
func profileKeysOf(root *ynode, name, origin string) (*document, []*stream.ConfigError) {
	if root.kind != yaml.MappingNode {
		return nil, nil
	}
	d := &document{}
	var errs []*stream.ConfigError
	found := false
	for _, k := range []string{"active", "include", "default"} {
		val, _, ok := findKey(root, []string{"spring", "profiles", k})
		if !ok {
			continue
		}
		list, ok := stringList(val)
		if !ok {
			errs = append(errs, &stream.ConfigError{Path: "spring.profiles." + k, Origin: origin, Msg: "expected a comma-separated string or a list of profile names"})
			continue
		}
		found = true
		switch k {
		case "active":
			d.active, d.activeSet = list, true
		case "include":
			d.include, d.includeSet = list, true
		default:
			d.deflt, d.defaultSet = list, true
		}
	}
	gs, gerrs := profileGroups(name, root)
	for _, e := range gerrs {
		key, msg, _ := strings.Cut(e.msg, ": ")
		errs = append(errs, &stream.ConfigError{Path: key, Origin: origin, Msg: msg})
	}
	if len(gs) > 0 {
		d.groups, found = gs, true
	}
	if !found {
		return nil, errs
	}
	return d, errs
}
