package config

import "testing"

// A placeholder names a key however the files split it at dots, as in
// Spring Boot, which flattens YAML to .properties names: app: {kafka.topic:
// x} is app.kafka.topic. Since 5835f99 a profile's app.kafka.topic=prof
// takes the base file's dotted spelling, so ${app.kafka.topic}, which
// found only nested keys, was refused where it had read the profile's
// value.
func TestPlaceholderFindsDottedKey(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "app:\n  kafka.topic: base-topic\n  deep:\n    x.y: xy\n  list.items: [a, b]\n" +
			"spring.cloud.stream.bindings:\n  sink-in-0:\n    destination: ${app.kafka.topic}\n    group: ${app.deep.x.y}-${app.list.items[1]}\n",
		"application-p.properties": "app.kafka.topic=prof-topic\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}})
	b := l.Stream.Binding("sink-in-0")
	if b.Destination != "prof-topic" || b.Group != "xy-b" {
		t.Errorf("destination %q, group %q; want prof-topic, xy-b", b.Destination, b.Group)
	}
}
