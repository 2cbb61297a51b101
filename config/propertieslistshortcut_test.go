package config

import (
	"reflect"
	"testing"
)

// name[]=a,b,c in a .properties file is name[0]=a, name[1]=b,
// name[2]=c, as Spring Boot's OriginTrackedPropertiesLoader expands it
// (PropertiesPropertySourceLoader loads with expandLists): "\," is a
// comma within an item, blanks before an item are dropped. streambind
// refused the key ("empty [] in key").
func TestPropertiesListShortcut(t *testing.T) {
	const props = `spring.cloud.stream.bindings.audit-out-0.producer.required-groups[]=billing, shipping\,eu,ops
spring.cloud.stream.kafka.binder.brokers[] : k1:9092,k2:9092
`
	l := mustLoad(t, Options{Data: []byte(props), Name: "application.properties", Env: []string{}, Logger: discard})
	if got, want := l.Stream.Binding("audit-out-0").Producer.RequiredGroups, []string{"billing", "shipping,eu", "ops"}; !reflect.DeepEqual(got, want) {
		t.Errorf("required-groups = %q, want %q", got, want)
	}
	if got := lookupPath(l.Raw, []string{"stream", "kafka", "binder", "brokers"}); !reflect.DeepEqual(got, []any{"k1:9092", "k2:9092"}) {
		t.Errorf("brokers = %#v", got)
	}
	if o := l.Stream.Origins["stream.bindings.audit-out-0.producer.required-groups[1]"]; o != "application.properties:1" {
		t.Errorf("origin of required-groups[1] = %q", o)
	}
}
