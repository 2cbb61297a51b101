package config

import (
	"strings"
	"testing"
)

// Keys SCSt services set under spring.cloud that streambind does not read
// (Spring Cloud Function's but the definition, routing-expression and
// header mappings, which are read and not warned of, the
// schema registry client, the Avro converter) are warnings at their line,
// not ignored without a word; the keys streambind reads are not warned.
func TestIgnoredSpringCloudKeysWarned(t *testing.T) {
	l := mustLoad(t, Options{Name: "application.properties", Logger: discard, Data: []byte(
		"spring.cloud.function.definition=uppercase\n" +
			"spring.cloud.function.routing-expression=headers['type']\n" +
			"spring.cloud.function.ineligible-definitions=foo\n" +
			"spring.cloud.schema-registry-client.endpoint=http://localhost:8990\n" +
			"spring.cloud.schema.avro.schema-locations=classpath:a.avsc\n" +
			"spring.cloud.config.uri=http://config\n" +
			"spring.cloud.stream.bindings.uppercase-in-0.destination=a\n" +
			"spring.cloud.function.configuration.uppercase.input-header-mapping-expression.key=headers.id\n")})
	want := map[string]string{
		"spring.cloud.function.ineligible-definitions": "application.properties:3",
		"spring.cloud.schema-registry-client":          "application.properties:4",
		"spring.cloud.schema":                          "application.properties:5",
	}
	for _, w := range l.Warnings {
		if o, ok := want[w.Path]; ok && w.Origin == o && strings.HasPrefix(w.Msg, "ignored: ") {
			delete(want, w.Path)
			continue
		}
		if strings.HasPrefix(w.Path, "spring.cloud") {
			t.Errorf("unexpected warning %s (%s): %s", w.Path, w.Origin, w.Msg)
		}
	}
	for p, o := range want {
		t.Errorf("no warning for %s at %s (warnings: %v)", p, o, l.Warnings)
	}
}
