package config

import (
	"slices"
	"testing"
)

// TestPropertiesListInTwoSpellings: one list whose items a .properties
// file writes in two relaxed spellings (required-groups[0], then
// requiredGroups[1]) is one list [a, b], as Spring Boot binds a list's
// items by their names' uniform form. It was refused: "requiredGroups[1]
// is set but requiredGroups[0] is not".
func TestPropertiesListInTwoSpellings(t *testing.T) {
	for _, c := range []struct{ props, line0, line1 string }{
		{"spring.cloud.stream.bindings.x-out-0.producer.required-groups[0]=a\nspring.cloud.stream.bindings.x-out-0.producer.requiredGroups[1]=b\n", ":1", ":2"},
		{"spring.cloud.stream.bindings.x-out-0.producer.requiredGroups[1]=b\nspring.cloud.stream.bindings.x-out-0.producer.required_groups[0]=a\n", ":2", ":1"},
	} {
		l, err := Load(Options{Data: []byte(c.props), Name: "application.properties", Env: []string{}})
		if err != nil {
			t.Errorf("%s: %v", c.props, err)
			continue
		}
		got := l.Stream.Binding("x-out-0").Producer.RequiredGroups
		if !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%s: required-groups = %q, want [a b]", c.props, got)
		}
		for item, want := range map[string]string{"[0]": c.line0, "[1]": c.line1} {
			if o := l.Stream.Origins["stream.bindings.x-out-0.producer.required-groups"+item]; o != "application.properties"+want {
				t.Errorf("%s: origin of item %s = %q, want application.properties%s", c.props, item, o, want)
			}
		}
	}
}
