package config

import (
	"strings"
	"testing"
)

// Under a level of names (bindings, binders, a binder type's bindings) a
// dotted YAML key was taken whole as the name: "process-in-0.group: x"
// under bindings was refused ("expected a map of keys ..., got "x""),
// although Spring Boot flattens it to bindings.process-in-0.group, and so
// do streambind's own .properties files. "[a.b]" is a name holding dots,
// as in Spring Boot.
func TestDottedKeysUnderNames(t *testing.T) {
	yaml := `spring:
  cloud:
    stream:
      output-bindings: orders.v2
      bindings:
        process-in-0.group: g
        process-in-0.consumer.max-attempts: 4
        process-in-0:
          destination: d
        "[orders.v2]": { destination: v2 }
        "[orders.v3].group": g3
      binders:
        local.type: memory
      rabbit:
        bindings:
          process-in-0.consumer.prefetch: 7
`
	l := mustLoad(t, Options{Data: []byte(yaml)})
	c := l.Stream
	if b := c.Binding("process-in-0"); b.Group != "g" || b.Destination != "d" || b.Consumer.MaxAttempts != 4 {
		t.Errorf("process-in-0: group %q, destination %q, max-attempts %d", b.Group, b.Destination, b.Consumer.MaxAttempts)
	}
	if b := c.Binding("orders.v2"); b.Destination != "v2" {
		t.Errorf("orders.v2: destination %q", b.Destination)
	}
	if b := c.Binding("orders.v3"); b.Group != "g3" {
		t.Errorf("orders.v3: group %q", b.Group)
	}
	if b, ok := c.Binders["local"]; !ok || b.Type != "memory" {
		t.Errorf("binders %+v", c.Binders)
	}
	if cons, _ := c.Extension("rabbit", "process-in-0"); cons["prefetch"] == nil {
		t.Errorf("rabbit consumer section %v", cons)
	}
	if o := c.Origins["stream.bindings.process-in-0.group"]; o != "application.yaml:6" {
		t.Errorf("origin %q", o)
	}
	// SPRING_APPLICATION_JSON is flattened alike.
	l = mustLoad(t, Options{Data: []byte("a: 1\n"), Env: []string{`SPRING_APPLICATION_JSON={"spring.cloud.stream.bindings":{"process-in-0.group":"j"}}`}})
	if g := l.Stream.Binding("process-in-0").Group; g != "j" {
		t.Errorf("SPRING_APPLICATION_JSON: group %q", g)
	}
	// A name with dots written plainly: split, as in Spring Boot and in a
	// .properties file, and the message says how to write it.
	es := configErrors(t, Options{Data: []byte("stream:\n  bindings:\n    orders.v1: { destination: x }\n")})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), "stream.bindings.orders.v1 (application.yaml:3): unknown key v1 of orders") ||
		!strings.Contains(es[0].Error(), "written [orders.v1]") {
		t.Errorf("got %v", es)
	}
	// A .properties key's [a.b] stays one name.
	l = mustLoad(t, Options{Name: "application.properties", File: "application.properties",
		Data: []byte("stream.bindings.[orders.v1].destination=x\n")})
	if d := l.Stream.Binding("orders.v1").Destination; d != "x" {
		t.Errorf(".properties [orders.v1]: destination %q", d)
	}
}
