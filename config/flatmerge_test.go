package config

import (
	"reflect"
	"sort"
	"testing"
)

// flatLeaves returns the leaves of tree m by their dotted names
// (configuration {max.poll.records: 5} and {max: {poll: {records: 5}}}
// both give max.poll.records), each name with every value found for it.
func flatLeaves(m map[string]any) map[string][]any {
	out := map[string][]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if sub, ok := m[k].(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = append(out[prefix+k], m[k])
		}
	}
	walk("", m)
	return out
}

// A key of a free map written flat in one file (configuration.max.poll.
// records=7 in a .properties file, the map's keys nested) and with its
// dots in a map key in another ({max.poll.records: 5} or
// {"[max.poll.records]": 5} in YAML) is one property, as in Spring Boot:
// YamlProcessor flattens both YAML spellings to the .properties key, and
// binding a Map<String, String> (Binder's "Binding Maps") takes
// max.poll.records as the key either way, the source of higher precedence
// (the profile's file) winning. The merged tree held both spellings, and
// the binder, reading them in key order, took the base file's.
func TestFlatAndDottedMapKeysAreOneKey(t *testing.T) {
	const prefix = "spring.cloud.stream.kafka."
	cases := []struct {
		name        string
		base, prof  string // file names
		baseText    string
		profText    string
		wantOrigin  string
		wantValue   string
		wantRetryIS bool
	}{
		{"yaml dotted base, properties profile", "application.yaml", "application-p.properties", `spring.cloud.stream:
  kafka:
    binder:
      configuration: {max.poll.records: 5}
    bindings:
      sink-in-0:
        consumer:
          configuration: {fetch.min.bytes: 5}
  bindings:
    sink-in-0:
      group: g
      consumer:
        retryable-exceptions: {java.lang.IllegalStateException: false}
`, prefix + "binder.configuration.max.poll.records=7\n" +
			prefix + "bindings.sink-in-0.consumer.configuration.fetch.min.bytes=7\n" +
			"spring.cloud.stream.bindings.sink-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException=true\n",
			"application-p.properties:1", "7", true},
		{"yaml bracketed base, properties profile", "application.yaml", "application-p.properties", `spring.cloud.stream:
  kafka:
    binder:
      configuration: {"[max.poll.records]": 5}
    bindings:
      sink-in-0:
        consumer:
          configuration: {"[fetch.min.bytes]": 5}
  bindings:
    sink-in-0:
      group: g
      consumer:
        retryable-exceptions: {"[java.lang.IllegalStateException]": false}
`, prefix + "binder.configuration.max.poll.records=7\n" +
			prefix + "bindings.sink-in-0.consumer.configuration.fetch.min.bytes=7\n" +
			"spring.cloud.stream.bindings.sink-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException=true\n",
			"application-p.properties:1", "7", true},
		{"properties base, yaml dotted profile", "application.properties", "application-p.yaml",
			prefix + "binder.configuration.max.poll.records=5\n" +
				prefix + "bindings.sink-in-0.consumer.configuration.fetch.min.bytes=5\n" +
				"spring.cloud.stream.bindings.sink-in-0.group=g\n" +
				"spring.cloud.stream.bindings.sink-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException=false\n",
			`spring.cloud.stream:
  kafka:
    binder:
      configuration: {max.poll.records: 7}
    bindings:
      sink-in-0:
        consumer:
          configuration: {fetch.min.bytes: 7}
  bindings:
    sink-in-0:
      consumer:
        retryable-exceptions: {java.lang.IllegalStateException: true}
`, "application-p.yaml:4", "7", true},
		{"properties base, yaml bracketed profile", "application.properties", "application-p.yaml",
			prefix + "binder.configuration.max.poll.records=5\n" +
				prefix + "bindings.sink-in-0.consumer.configuration.fetch.min.bytes=5\n" +
				"spring.cloud.stream.bindings.sink-in-0.group=g\n" +
				"spring.cloud.stream.bindings.sink-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException=true\n",
			`spring.cloud.stream:
  kafka:
    binder:
      configuration: {"[max.poll.records]": 7}
    bindings:
      sink-in-0:
        consumer:
          configuration: {"[fetch.min.bytes]": 7}
  bindings:
    sink-in-0:
      consumer:
        retryable-exceptions: {"[java.lang.IllegalStateException]": false}
`, "application-p.yaml:4", "7", false},
		{"properties bracketed base, yaml nested profile", "application.properties", "application-p.yaml",
			prefix + "binder.configuration[max.poll.records]=5\n" +
				prefix + "bindings.sink-in-0.consumer.configuration[fetch.min.bytes]=5\n" +
				"spring.cloud.stream.bindings.sink-in-0.group=g\n" +
				"spring.cloud.stream.bindings.sink-in-0.consumer.retryable-exceptions[java.lang.IllegalStateException]=false\n",
			`spring.cloud.stream:
  kafka:
    binder:
      configuration:
        max:
          poll:
            records: 7
    bindings:
      sink-in-0:
        consumer:
          configuration: {fetch: {min: {bytes: 7}}}
  bindings:
    sink-in-0:
      consumer:
        retryable-exceptions: {java: {lang: {IllegalStateException: true}}}
`, "application-p.yaml:7", "7", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{c.base: c.baseText, c.prof: c.profText})
			l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}})
			check := func(path []string, name string) {
				t.Helper()
				m, _ := lookupPath(l.Raw, path).(map[string]any)
				got := flatLeaves(m)
				if len(got) != 1 || len(got[name]) != 1 || toStr(got[name][0]) != c.wantValue {
					t.Errorf("%v = %v, want only %s: %s", path, m, name, c.wantValue)
				}
			}
			check([]string{"stream", "kafka", "binder", "configuration"}, "max.poll.records")
			check([]string{"stream", "kafka", "bindings", "sink-in-0", "consumer", "configuration"}, "fetch.min.bytes")
			if o := l.Stream.Origins["stream.kafka.binder.configuration.max.poll.records"]; o != c.wantOrigin {
				t.Errorf("origin of max.poll.records = %q, want %q", o, c.wantOrigin)
			}
			re := l.Stream.Binding("sink-in-0").Consumer.RetryableExceptions
			if want := map[string]bool{"java.lang.IllegalStateException": c.wantRetryIS}; !reflect.DeepEqual(re, want) {
				t.Errorf("retryable-exceptions = %v, want %v", re, want)
			}
		})
	}
}

// toStr renders a leaf of the tree (5 from YAML, "5" from .properties).
func toStr(v any) string {
	s, _ := toString(v)
	return s
}

// Where dots are no flattening (a binding's name written [a.b], a name
// of its own), the nested spelling stays another key.
func TestBracketedNameIsNotNested(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring.cloud.stream.bindings:\n  \"[a.b]\": {destination: ab, group: g}\n  a: {destination: a, group: g}\n",
		"application-p.properties": "spring.cloud.stream.bindings[a.b].destination=ab2\n" +
			"spring.cloud.stream.bindings.a.destination=a2\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}})
	if d := l.Stream.Binding("a.b").Destination; d != "ab2" {
		t.Errorf("binding a.b destination = %q", d)
	}
	if d := l.Stream.Binding("a").Destination; d != "a2" {
		t.Errorf("binding a destination = %q", d)
	}
}

// The same for a variable named as a key (merged by mergeLayers) and for
// Spring Boot's spring.kafka.properties, a map outside the schema.
func TestFlatKeyFromDottedVariableAndBootMap(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring.kafka.properties: {security.protocol: SSL}\n" +
			"spring.cloud.stream.kafka.binder.configuration: {max.poll.records: 5}\n",
		"application-p.properties": "spring.kafka.properties.security.protocol=PLAINTEXT\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"},
		Env: []string{"spring.cloud.stream.kafka.binder.configuration.max.poll.records=9"}})
	conf, _ := lookupPath(l.Raw, []string{"stream", "kafka", "binder", "configuration"}).(map[string]any)
	if got := flatLeaves(conf); !reflect.DeepEqual(got, map[string][]any{"max.poll.records": {"9"}}) {
		t.Errorf("stream.kafka.binder.configuration = %v, want the variable's max.poll.records alone", conf)
	}
	const env = "env spring.cloud.stream.kafka.binder.configuration.max.poll.records"
	if o := l.Stream.Origins["stream.kafka.binder.configuration.max.poll.records"]; o != env {
		t.Errorf("origin = %q, want %q", o, env)
	}
	props, _ := lookupPath(l.Raw, []string{"spring", "kafka", "properties"}).(map[string]any)
	if got := flatLeaves(props); !reflect.DeepEqual(got, map[string][]any{"security.protocol": {"PLAINTEXT"}}) {
		t.Errorf("spring.kafka.properties = %v, want the profile's security.protocol alone", props)
	}
}

// A file that spells one free-map key two ways over a base that spells it
// a third way loads the same way every time: matchSpellings moved the
// layer's spellings in map order, so the first walked took the base's
// spelling and one Load kept max.poll.records 2, another 3.
func TestFlatSpellingsMatchedInOneOrder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring.cloud.stream.kafka.binder.configuration:\n  max.poll:\n    records: 1\n",
		"application-p.yaml": "spring.cloud.stream.kafka.binder.configuration:\n  max.poll.records: 2\n" +
			"  max:\n    poll:\n      records: 3\n",
	})
	var first map[string]any
	for i := 0; i < 200; i++ {
		l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}})
		conf, _ := lookupPath(l.Raw, []string{"stream", "kafka", "binder", "configuration"}).(map[string]any)
		if i == 0 {
			first = conf
			continue
		}
		if !reflect.DeepEqual(conf, first) {
			t.Fatalf("load %d: configuration %v, load 0: %v", i, conf, first)
		}
	}
}
