package config

import (
	"strings"
	"testing"
)

// A key set to a value after a key inside it was set
// (spring.cloud.stream.kafka.binder.brokers.x=b, then ...brokers=a) is
// refused with both keys and both lines. Spring Boot binds brokers (a
// String[]: IndexedElementsBinder reads the key itself when it is set) and
// ignores brokers.x without a word; streambind refuses an unknown binder
// key, as the Kafka binder does when the lines come the other way round.
// The message said "duplicate key (already set at application.properties:1)",
// and line 1 set brokers.x, not brokers. (A .properties file with the
// lines the other way round keeps brokers.x as a dotted key, as Spring
// Boot keeps both properties, and the Kafka binder refuses it as an
// unknown key with a did-you-mean.)
func TestKeyInsideValueNamesBoth(t *testing.T) {
	for _, c := range []struct{ name, file, data, at string }{
		{"properties", "application.properties",
			"spring.cloud.stream.kafka.binder.brokers.x=b\n# the brokers\nspring.cloud.stream.kafka.binder.brokers=a\n", "application.properties"},
		{"yaml dotted", "application.yaml",
			"spring.cloud.stream.kafka.binder.brokers.x: b\n# the brokers\nspring.cloud.stream.kafka.binder.brokers: a\n", "application.yaml"},
		// The other way round in YAML: the key inside comes second (the
		// message said "used as a map, but already set to a value at
		// application.yaml:1", naming no key inside).
		{"yaml dotted, value first", "application.yaml",
			"spring.cloud.stream.kafka.binder.brokers: a\n# the brokers\nspring.cloud.stream.kafka.binder.brokers.x: b\n", "application.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(c.data), Name: c.file})
			if len(es) != 1 {
				t.Fatalf("want one problem, got %v", es)
			}
			e := es[0]
			if e.Path != "stream.kafka.binder.brokers" || e.Origin != c.at+":3" {
				t.Errorf("problem at %s (%s), want stream.kafka.binder.brokers (%s:3)", e.Path, e.Origin, c.at)
			}
			for _, want := range []string{"stream.kafka.binder.brokers.x", c.at + ":1", "a key inside it"} {
				if !strings.Contains(e.Msg, want) {
					t.Errorf("message %q lacks %q", e.Msg, want)
				}
			}
		})
	}
}
