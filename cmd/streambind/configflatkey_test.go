package main

import (
	"strings"
	"testing"
)

// streambind config shows a free map's key written with its dots in the
// base YAML (configuration: {max.poll.records: 5}) and nested by the
// profile's .properties file once, with the profile's value and line, as
// Spring Boot binds it (one property, the profile winning). It showed
// both, the base's with the profile's origin.
func TestConfigFlatAndDottedKeyShownOnce(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring.cloud.function.definition: handleOrder\n" +
			"spring.cloud.stream.bindings.handleOrder-in-0: { destination: orders, group: g, binder: kafka }\n" +
			"spring.cloud.stream.kafka.binder:\n  brokers: localhost:9092\n  configuration: {max.poll.records: 5, client.id: x}\n",
		"application-p.properties": "spring.cloud.stream.kafka.binder.configuration.max.poll.records=7\n",
	})
	r := runIn(t, dir, nil, "config", "--profile", "p")
	want := "        max.poll.records: 7 # application-p.properties:1\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "max:") {
		t.Errorf("exit %d, stderr %s, stdout:\n%s\nwant the line %q alone", r.code, r.stderr, r.stdout, want)
	}
}
