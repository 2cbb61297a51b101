package config

import (
	"strings"
	"testing"
)

// spring.cloud.function and spring.cloud are open namespaces (Spring Cloud
// Function's other keys, other projects'), so a misspelt
// spring.cloud.function.defintion or spring.cloud.streams was ignored
// without a word: the service bound no function list, or none of its
// bindings' settings.
func TestMisspeltSpringCloudKeys(t *testing.T) {
	yaml := "spring:\n  cloud:\n    function:\n      defintion: a;b\n      routingExpresion: headers['x']\n" +
		"      scan.packages: com.acme\n      ineligible-definitions: x\n" +
		"    streams:\n      bindings:\n        a-in-0: { group: g }\n    config: { uri: http://c }\n    team: x\n"
	es := configErrors(t, Options{Data: []byte(yaml)})
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	want := []string{
		"spring.cloud.streams (application.yaml:8): unknown key; did you mean stream?",
		"spring.cloud.function.defintion (application.yaml:4): unknown key; did you mean definition?",
		"spring.cloud.function.routingExpresion (application.yaml:5): unknown key; did you mean routing-expression?",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: %q, want it to start %q", i, got[i], want[i])
		}
	}
	// The keys themselves, in every spelling, are no problem.
	l := mustLoad(t, Options{Data: []byte("spring.cloud.function.definition: a\nspring.cloud.function.routing-expression: headers['x']\nspring.cloud.stream.default-binder: memory\n")})
	if l.Stream.Function.Definition != "a" {
		t.Errorf("definition %q", l.Stream.Function.Definition)
	}
}
