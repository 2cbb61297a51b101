package config

import (
	"strings"
	"testing"
)

// SCSt has two function-definition keys: spring.cloud.function.definition
// and the deprecated spring.cloud.stream.function.definition (SCSt 3 binds
// the latter's, SCSt 4 the former's). Services set both to one value so as
// to run on either; streambind reads both as stream.function.definition.
// Both with one value load; different values are refused, saying why.
func TestBothFunctionDefinitionKeys(t *testing.T) {
	same := map[string]struct{ name, data string }{
		"yaml":                          {"application.yaml", "spring:\n  cloud:\n    function:\n      definition: uppercase;sink\n    stream:\n      function:\n        definition: uppercase;sink\n      bindings:\n        uppercase-in-0: { destination: a }\n"},
		"properties":                    {"application.properties", "spring.cloud.function.definition=uppercase;sink\nspring.cloud.stream.function.definition=uppercase;sink\n"},
		"canonical beside the SCSt key": {"application.yaml", "spring.cloud.function.definition: uppercase;sink\nstream:\n  function:\n    definition: uppercase;sink\n"},
	}
	for name, tc := range same {
		t.Run(name, func(t *testing.T) {
			l := mustLoad(t, Options{Data: []byte(tc.data), Name: tc.name, Logger: discard})
			if got := l.Stream.Function.Definition; got != "uppercase;sink" {
				t.Errorf("definition %q, want uppercase;sink", got)
			}
			if o := l.Stream.Origins["stream.function.definition"]; !strings.HasSuffix(o, ":1") && !strings.HasSuffix(o, ":4") {
				t.Errorf("origin %q, want the first key's line", o)
			}
		})
	}

	es := configErrors(t, Options{Name: "application.properties", Data: []byte(
		"spring.cloud.function.definition=uppercase\nspring.cloud.stream.function.definition=reverse\n")})
	if len(es) != 1 {
		t.Fatalf("%d problems, want 1: %v", len(es), es)
	}
	e := es[0]
	if e.Path != "stream.function.definition" || e.Origin != "application.properties:2" {
		t.Errorf("problem at %s %s, want stream.function.definition application.properties:2", e.Path, e.Origin)
	}
	for _, want := range []string{`"uppercase"`, `"reverse"`, "application.properties:1", "SCSt 3", "SCSt 4"} {
		if !strings.Contains(e.Msg, want) {
			t.Errorf("message %q does not say %s", e.Msg, want)
		}
	}
}
