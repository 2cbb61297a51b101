package config

import (
	"reflect"
	"strings"
	"testing"
)

// A .properties key may go below a key another line sets to a value, in
// either order: in Spring Boot each is a property of its own, and a map
// with values gets both (the reference's logging example sets
// logging.level.org.springframework.web beside coarser levels). The file
// was refused ("sets a key inside ..., which line 1 sets to a value").
func TestPropertiesValueAndKeysBelowIt(t *testing.T) {
	const props = `logging.level.org.springframework=info
logging.level.org.springframework.kafka=debug
logging.level.com.shop.orders.api=warn
logging.level.com.shop.orders=error
myapp.db=primary
myapp.db.url=jdbc:x
spring.cloud.stream.bindings.sink-in-0.group=g
`
	l := mustLoad(t, Options{Data: []byte(props), Name: "application.properties", Env: []string{}, Logger: discard})
	if g := l.Stream.Binding("sink-in-0").Group; g != "g" {
		t.Errorf("group %q", g)
	}
	var warned []string
	for _, w := range l.Warnings {
		warned = append(warned, w.Path+" ("+w.Origin+")")
	}
	for _, want := range []string{
		"logging.level.org.springframework (application.properties:1)",
		"logging.level.org.springframework.kafka (application.properties:2)",
		"logging.level.com.shop.orders.api (application.properties:3)",
		"logging.level.com.shop.orders (application.properties:4)",
	} {
		if !strings.Contains(strings.Join(warned, "\n"), want) {
			t.Errorf("no warning for %s:\n%s", want, strings.Join(warned, "\n"))
		}
	}
	if got, want := l.Raw["myapp"], map[string]any{"db": "primary", "db.url": "jdbc:x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("myapp = %#v, want %#v", got, want)
	}
	// In the schema a key is a value or keys, not both: still reported.
	es := configErrors(t, Options{Data: []byte("spring.cloud.stream.bindings.x-in-0=a\nspring.cloud.stream.bindings.x-in-0.group=g\n"), Name: "application.properties"})
	if len(es) == 0 || es[0].Path != "stream.bindings.x-in-0" {
		t.Errorf("a binding set to a value and given keys: %v", es)
	}
}
