package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// YAML keys holding a list index bind as in a .properties file: Spring
// Boot flattens a YAML document to property names before binding
// (YamlProcessor.buildFlattenedMap), so required-groups[0]: a in YAML is
// the property required-groups[0]. streambind refused each such key as
// unknown.
func TestYAMLIndexedKeys(t *testing.T) {
	const prefix = "stream.bindings.x-out-0.producer.required-groups"
	for _, c := range []struct {
		name, yaml string
		want       []string
		lines      []string
	}{
		{"nested, two spellings", `spring:
  cloud:
    stream:
      bindings:
        x-out-0:
          producer:
            required-groups[0]: a
            requiredGroups[1]: b
`, []string{"a", "b"}, []string{":7", ":8"}},
		{"flat dotted keys", `spring.cloud.stream.bindings.x-out-0.producer.requiredGroups[1]: b
spring.cloud.stream.bindings.x-out-0.producer.required-groups[0]: a
`, []string{"a", "b"}, []string{":2", ":1"}},
		{"a YAML list and an indexed key", `spring:
  cloud:
    stream:
      bindings:
        x-out-0:
          producer:
            required-groups:
              - a
            required_groups[1]: b
`, []string{"a", "b"}, []string{":8", ":9"}},
		{"a flat dotted key and nested keys", `spring.cloud.stream.bindings.x-out-0.producer.required-groups[1]: b
spring:
  cloud:
    stream:
      bindings:
        x-out-0:
          producer:
            requiredGroups[0]: a
`, []string{"a", "b"}, []string{":8", ":1"}},
		{"a nested YAML list and a flat dotted key", `spring:
  cloud:
    stream:
      bindings:
        x-out-0:
          producer:
            required-groups: [a, b]
spring.cloud.stream.bindings.x-out-0.producer.required-groups[2]: c
`, []string{"a", "b", "c"}, []string{":7", ":7", ":8"}},
		{"a later document replaces the list", `spring.cloud.stream.bindings.x-out-0.producer.required-groups: [a, b, c]
---
spring.cloud.stream.bindings.x-out-0.producer.required-groups[0]: x
`, []string{"x"}, []string{":3"}},
	} {
		l, err := Load(Options{Data: []byte(c.yaml), Env: []string{}, Logger: discard})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := l.Stream.Binding("x-out-0").Producer.RequiredGroups; !slices.Equal(got, c.want) {
			t.Errorf("%s: required-groups = %q, want %q", c.name, got, c.want)
		}
		for i, want := range c.lines {
			item := prefix + "[" + string(rune('0'+i)) + "]"
			if o := l.Stream.Origins[item]; o != "application.yaml"+want {
				t.Errorf("%s: origin of %s = %q, want application.yaml%s", c.name, item, o, want)
			}
		}
	}
}

// A map inside a list's item, bindings[0].name, and an item of an item.
func TestYAMLIndexedKeysMapsInItems(t *testing.T) {
	const yaml = `app:
  servers[0].host: h
  servers[1]:
    host: g
  servers[0].port: 1
  matrix[0][1]: b
  matrix[0][0]: a
`
	l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{}, Logger: discard})
	var got struct {
		Servers []struct {
			Host string
			Port int
		}
		Matrix [][]string
	}
	if err := l.Decode("app", &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Servers) != 2 || got.Servers[0].Host != "h" || got.Servers[0].Port != 1 || got.Servers[1].Host != "g" {
		t.Errorf("servers = %+v", got.Servers)
	}
	if !reflect.DeepEqual(got.Matrix, [][]string{{"a", "b"}}) {
		t.Errorf("matrix = %q", got.Matrix)
	}
}

// A gap, an item given twice, or a list given as a value beside its
// items is an error at the item's line, as in a .properties file.
func TestYAMLIndexedKeysErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{`spring:
  cloud:
    stream:
      bindings:
        x-out-0:
          producer:
            required-groups[0]: a
            requiredGroups[2]: b
`, "application.yaml:8: spring.cloud.stream.bindings.x-out-0.producer.required-groups[2] is set but spring.cloud.stream.bindings.x-out-0.producer.required-groups[1] is not"},
		{`spring.cloud.stream.bindings.x-out-0.producer.required-groups[1]: b
`, "application.yaml:1: spring.cloud.stream.bindings.x-out-0.producer.required-groups[1] is set but spring.cloud.stream.bindings.x-out-0.producer.required-groups[0] is not"},
		{`producer:
  required-groups: [a]
  requiredGroups[0]: b
`, "producer.requiredGroups[0] (application.yaml:3): given twice (requiredGroups[0] here, and at line 2)"},
		{`producer:
  required-groups: a
  requiredGroups[1]: b
`, "producer.required-groups (application.yaml:2): set to a value, but line 3 sets items of it ([n])"},
	} {
		_, err := Load(Options{Data: []byte(c.yaml), Env: []string{}, Logger: discard})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.yaml, err, c.want)
		}
	}
}

// In a map of plain values (a binder's configuration: Map<String, String>
// in Spring) Boot's map binding takes a[0] as the key, not as a list's
// item: the key stays as written.
func TestYAMLIndexedKeyInMapOfValues(t *testing.T) {
	const yaml = `spring:
  cloud:
    stream:
      kafka:
        binder:
          configuration:
            "x[0]": 1
            y: 2
`
	l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{}, Logger: discard})
	kafka, _ := lookupPath(l.Raw, []string{"stream", "kafka", "binder"}).(map[string]any)
	if c, _ := kafka["configuration"].(map[string]any); c["x[0]"] != 1 || c["y"] != 2 {
		t.Errorf("configuration = %v, want x[0] and y", kafka["configuration"])
	}
	if o := l.Stream.Origins["stream.kafka.binder.configuration.x[0]"]; o != "application.yaml:7" {
		t.Errorf("origin of x[0] = %q", o)
	}
}
