package config

import (
	"strings"
	"testing"
)

// TestDLQAliasFromEnvKeepsBindingCase: SCSt's auto-bind-dlq / enable-dlq set
// by an environment variable turn on the DLQ of the binding the file (or
// the function definition) spells in camelCase. The variable can only
// spell the name in upper case; the alias was once lifted to a second,
// lower-case binding and the real one kept dlq false.
func TestDLQAliasFromEnvKeepsBindingCase(t *testing.T) {
	const declared = `spring.cloud.stream:
  function.definition: shipOrder
  bindings:
    shipOrder-in-0: { destination: orders, group: shipping }
`
	const undeclared = `spring.cloud.stream:
  function.definition: shipOrder
`
	for _, tc := range []struct{ name, yaml, env string }{
		{"rabbit auto-bind-dlq, binding in the file", declared, "SPRING_CLOUD_STREAM_RABBIT_BINDINGS_SHIPORDER_IN_0_CONSUMER_AUTOBINDDLQ=true"},
		{"rabbit AUTO_BIND_DLQ", declared, "SPRING_CLOUD_STREAM_RABBIT_BINDINGS_SHIPORDER_IN_0_CONSUMER_AUTO_BIND_DLQ=true"},
		{"kafka enable-dlq, binding in the file", declared, "SPRING_CLOUD_STREAM_KAFKA_BINDINGS_SHIPORDER_IN_0_CONSUMER_ENABLEDLQ=true"},
		{"STREAM_ prefix", declared, "STREAM_RABBIT_BINDINGS_SHIPORDER_IN_0_CONSUMER_AUTOBINDDLQ=true"},
		{"binding only from the function definition", undeclared, "SPRING_CLOUD_STREAM_KAFKA_BINDINGS_SHIPORDER_IN_0_CONSUMER_ENABLEDLQ=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loadApp(t, tc.yaml, tc.env)
			if !l.Stream.Binding("shipOrder-in-0").Consumer.DLQ {
				t.Fatalf("dlq of shipOrder-in-0 is false; bindings: %v", bindingNames(l))
			}
			for _, n := range bindingNames(l) {
				if n != "shipOrder-in-0" && strings.EqualFold(n, "shipOrder-in-0") {
					t.Errorf("a second binding %q beside shipOrder-in-0", n)
				}
			}
			name, _, _ := strings.Cut(tc.env, "=")
			if got := l.Stream.Origins["stream.bindings.shiporder-in-0.consumer.dlq"]; got != "env "+name {
				t.Errorf("origin = %q", got)
			}
		})
	}
	t.Run("a file's lower-case binder section", func(t *testing.T) {
		l := loadApp(t, declared+"  rabbit.bindings.shiporder-in-0.consumer.auto-bind-dlq: true\n")
		if !l.Stream.Binding("shipOrder-in-0").Consumer.DLQ {
			t.Fatalf("dlq of shipOrder-in-0 is false; bindings: %v", bindingNames(l))
		}
	})
}

func bindingNames(l *Loaded) []string {
	var ns []string
	for n := range l.Stream.Bindings {
		ns = append(ns, n)
	}
	return ns
}
