package config

import "testing"

// A key a .properties file sets twice keeps its last value, with the
// origin of that line, as in Spring Boot: OriginTrackedPropertiesLoader
// puts each key into a LinkedHashMap (Document.put), so the later line
// replaces the earlier one silently. streambind refused the file.
func TestPropertiesDuplicateKeyLastWins(t *testing.T) {
	const props = `spring.cloud.stream.default-binder=kafka
spring.cloud.stream.bindings.sink-in-0.group=first
spring.cloud.stream.bindings.sink-in-0.destination=orders
spring.cloud.stream.bindings.sink-in-0.group=second
`
	l := mustLoad(t, Options{Data: []byte(props), Name: "application.properties", Env: []string{}})
	b := l.Stream.Binding("sink-in-0")
	if b.Group != "second" || b.Destination != "orders" {
		t.Errorf("group %q, destination %q: want second, orders", b.Group, b.Destination)
	}
	if o := l.Stream.Origins["stream.bindings.sink-in-0.group"]; o != "application.properties:4" {
		t.Errorf("origin of the group = %q, want application.properties:4", o)
	}
}
