package config

import (
	"strings"
	"testing"
)

// TestSCStNewerBindingKeys: keys of SCSt's BindingProperties and
// ProducerProperties that were "unknown key (known keys: ...)", as if
// misspelt: error-handler-definition (a binding's error handler function,
// SCSt 4), producer.dynamic-partition-updates-enabled and split-mode. They
// are accepted at SCSt's default and otherwise refused at their line with
// the reason and what to do instead.
func TestSCStNewerBindingKeys(t *testing.T) {
	ok := `spring.cloud.stream:
  default.producer: { dynamicPartitionUpdatesEnabled: false }
  bindings:
    a-out-0:
      producer: { split-mode: "false" }
`
	if l := mustLoad(t, Options{Data: []byte(ok), Logger: discard}); len(l.Warnings) != 0 {
		t.Errorf("warnings %v", l.Warnings)
	}
	bad := `spring.cloud.stream:
  default:
    errorHandlerDefinition: myErrorHandler
  bindings:
    a-in-0:
      group: g
      error-handler-definition: otherHandler
    a-out-0:
      producer:
        dynamic-partition-updates-enabled: true
        splitMode: true
`
	want := map[string]string{
		"stream.default.error-handler-definition":                            "application.yaml:3: it names a Spring bean, and there are none here: register the binding's error handler in code: stream.WithErrorHandler",
		"stream.bindings.a-in-0.error-handler-definition":                    "application.yaml:7: it names a Spring bean",
		"stream.bindings.a-out-0.producer.dynamic-partition-updates-enabled": "application.yaml:10: true is not supported: a partitioned producer keeps the partition count it started with",
		"stream.bindings.a-out-0.producer.split-mode":                        "application.yaml:11: true is not supported: streambind has no split mode",
	}
	es := configErrors(t, Options{Data: []byte(bad), Logger: discard})
	got := map[string]string{}
	for _, e := range es {
		got[e.Path] = e.Origin + ": " + e.Msg
	}
	for k, w := range want {
		if !strings.HasPrefix(got[k], w) {
			t.Errorf("%s: got %q, want it to start %q", k, got[k], w)
		}
	}
	if len(es) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(es), len(want), es)
	}
}
