package main

import (
	"strings"
	"testing"
)

// TestGraphInputBindingsConsumer: a binding of stream.input-bindings is
// read by a consumer of its name, not by the send bridge (which only
// sends). The compatibility run's c23b drew group-consumer's edge into
// the "send bridge" node.
func TestGraphInputBindingsConsumer(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.properties": `spring.application.name=demo
spring.cloud.stream.default-binder=memory
spring.cloud.stream.input-bindings=group-consumer
spring.cloud.stream.bindings.group-consumer.destination=group-dest
spring.cloud.stream.bindings.group-consumer.group=g
spring.cloud.stream.bindings.group-producer.destination=group-dest
`})
	r := runIn(t, dir, nil, "graph", ".")
	if r.code != 0 || !strings.Contains(r.stdout, `demo__group_consumer["group-consumer<br/>consumer"]`) ||
		!strings.Contains(r.stdout, `dest_memory_group_dest -->|"group-consumer<br/>group g"| demo__group_consumer`) ||
		!strings.Contains(r.stdout, `demo__send_bridge -->|"group-producer"| dest_memory_group_dest`) ||
		strings.Contains(r.stdout, "| demo__send_bridge") {
		t.Fatalf("graph: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
