package config

import (
	"reflect"
	"testing"
)

// A YAML map key written in brackets, "[max.poll.records]" (quoted, as
// YAML needs), is the one key max.poll.records, as in a .properties file:
// Spring's YamlProcessor.buildFlattenedMap appends a key starting with '['
// to its path without a dot (configuration[max.poll.records]), and Boot's
// map binding takes the bracketed text as the key. It held the brackets.
func TestYAMLBracketedMapKeys(t *testing.T) {
	const yaml = `spring:
  kafka:
    bootstrap-servers: k:9092
    properties:
      "[security.protocol]": SSL
  cloud:
    stream:
      kafka:
        binder:
          configuration:
            "[client.id]": abc
          producer-properties:
            "[linger.ms]": 5
      bindings:
        sink-in-0:
          group: g
          consumer:
            retryable-exceptions:
              "[java.lang.IllegalStateException]": false
`
	l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{}, Logger: discard})
	if re := l.Stream.Binding("sink-in-0").Consumer.RetryableExceptions; !reflect.DeepEqual(re, map[string]bool{"java.lang.IllegalStateException": false}) {
		t.Errorf("retryable-exceptions = %v", re)
	}
	kafka, _ := lookupPath(l.Raw, []string{"stream", "kafka", "binder"}).(map[string]any)
	if c, _ := kafka["configuration"].(map[string]any); c["client.id"] != "abc" {
		t.Errorf("stream.kafka.binder.configuration = %v, want client.id", kafka["configuration"])
	}
	if p, _ := kafka["producer-properties"].(map[string]any); p["linger.ms"] != 5 {
		t.Errorf("stream.kafka.binder.producer-properties = %v, want linger.ms", kafka["producer-properties"])
	}
	if c, _ := l.Stream.ConnectionDefaults["kafka"]["configuration"].(map[string]any); c["security.protocol"] != "SSL" {
		t.Errorf("spring.kafka.properties gave %v, want security.protocol", l.Stream.ConnectionDefaults["kafka"]["configuration"])
	}
	if o := l.Stream.Origins["stream.kafka.binder.configuration.client.id"]; o != "application.yaml:11" {
		t.Errorf("origin of client.id = %q", o)
	}
}
