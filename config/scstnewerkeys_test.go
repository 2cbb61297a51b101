package config

import (
	"strings"
	"testing"
)

// TestSCStNewerBindingKeys: keys of SCSt's BindingProperties and
// ProducerProperties that were "unknown key (known keys: ...)", as if
// misspelt: error-handler-definition (a binding's error handler function,
// SCSt 4), producer.dynamic-partition-updates-enabled and split-mode. The
// latter are accepted at SCSt's default and otherwise refused at their line
// with the reason and what to do instead; error-handler-definition is read
// (in either spelling), naming a handler registered in code
// (stream.WithNamedErrorHandler, checked by stream.NewApp). It was refused
// as a Spring bean's name.
func TestSCStNewerBindingKeys(t *testing.T) {
	ok := `spring.cloud.stream:
  default:
    producer: { dynamicPartitionUpdatesEnabled: false }
    errorHandlerDefinition: myErrorHandler
  bindings:
    a-in-0:
      group: g
      error-handler-definition: otherHandler
    a-out-0:
      producer: { split-mode: "false" }
`
	l := mustLoad(t, Options{Data: []byte(ok), Logger: discard})
	if len(l.Warnings) != 0 {
		t.Errorf("warnings %v", l.Warnings)
	}
	if got := l.Stream.Default.ErrorHandlerDefinition; got != "myErrorHandler" {
		t.Errorf("stream.default.error-handler-definition = %q, want myErrorHandler", got)
	}
	if got := l.Stream.Binding("a-in-0").ErrorHandlerDefinition; got != "otherHandler" {
		t.Errorf("stream.bindings.a-in-0.error-handler-definition = %q, want otherHandler", got)
	}
	if got := l.Stream.Binding("a-out-0").ErrorHandlerDefinition; got != "myErrorHandler" {
		t.Errorf("stream.bindings.a-out-0.error-handler-definition = %q, want stream.default's myErrorHandler", got)
	}
	bad := `spring.cloud.stream:
  bindings:
    a-out-0:
      producer:
        dynamic-partition-updates-enabled: true
        splitMode: true
`
	want := map[string]string{
		"stream.bindings.a-out-0.producer.dynamic-partition-updates-enabled": "application.yaml:5: true is not supported: a partitioned producer keeps the partition count it started with",
		"stream.bindings.a-out-0.producer.split-mode":                        "application.yaml:6: true is not supported: streambind has no split mode",
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
