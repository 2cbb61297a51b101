package config

import (
	"strings"
	"testing"
)

// TestDLQTypeDefaultOnlyItsType: SCSt's spring.cloud.stream.kafka.default.
// consumer.enableDlq (and rabbit's autoBindDlq) is a default of the
// bindings on binders of that type only. It was lifted to
// stream.default.consumer.dlq, so that in an application with a Kafka and
// a RabbitMQ binder the RabbitMQ bindings got a DLQ too: their queues were
// declared with x-dead-letter-* arguments (which an SCSt service's queue of
// the same name does not have: the declaration fails) and their failed
// messages dead-lettered instead of dropped.
func TestDLQTypeDefaultOnlyItsType(t *testing.T) {
	const binders = `spring.cloud.stream:
  function.definition: fromKafka;fromRabbit;plain
  binders:
    kafka1: { type: kafka }
    rabbit1: { type: rabbit }
`
	for _, tc := range []struct {
		name, yaml string
		want       map[string]bool // binding → dlq
	}{
		{"kafka default, kafka the default binder", binders + `  default-binder: kafka1
  kafka.default.consumer.enableDlq: true
  bindings:
    fromKafka-in-0: { group: g }
    fromRabbit-in-0: { group: g, binder: rabbit1 }
`, map[string]bool{"fromKafka-in-0": true, "fromRabbit-in-0": false, "plain-in-0": true}},
		{"kafka default, rabbit the default binder", binders + `  default-binder: rabbit1
  kafka.default.consumer.enable-dlq: true
  bindings:
    fromKafka-in-0: { group: g, binder: kafka1 }
    fromRabbit-in-0: { group: g }
`, map[string]bool{"fromKafka-in-0": true, "fromRabbit-in-0": false, "plain-in-0": false}},
		{"stream.default.binder names the type", binders + `  default: { binder: rabbit }
  kafka.default.consumer.enableDlq: true
  bindings:
    fromKafka-in-0: { group: g, binder: KAFKA1 }
`, map[string]bool{"fromKafka-in-0": true, "fromRabbit-in-0": false, "plain-in-0": false}},
		{"both types' defaults", binders + `  default-binder: kafka1
  kafka.default.consumer.enableDlq: true
  rabbit.default.consumer.autoBindDlq: false
  bindings:
    fromRabbit-in-0: { group: g, binder: rabbit1 }
`, map[string]bool{"fromKafka-in-0": true, "fromRabbit-in-0": false, "plain-in-0": true}},
		{"rabbit default, one candidate binder", binders + `  binders.kafka1.default-candidate: false
  rabbit.default.consumer.auto-bind-dlq: true
  bindings:
    fromKafka-in-0: { group: g, binder: kafka1 }
`, map[string]bool{"fromKafka-in-0": false, "fromRabbit-in-0": true, "plain-in-0": true}},
		{"a binding's own alias wins", binders + `  default-binder: kafka1
  kafka.default.consumer.enableDlq: true
  rabbit.bindings.fromRabbit-in-0.consumer.autoBindDlq: true
  bindings:
    fromRabbit-in-0: { group: g, binder: rabbit1 }
`, map[string]bool{"fromKafka-in-0": true, "fromRabbit-in-0": true, "plain-in-0": true}},
		{"stream.default.consumer.dlq applies to every type", binders + `  default-binder: kafka1
  default.consumer.dlq: true
  kafka.default.consumer.enableDlq: true
  bindings:
    fromRabbit-in-0: { group: g, binder: rabbit1 }
`, map[string]bool{"fromKafka-in-0": true, "fromRabbit-in-0": true, "plain-in-0": true}},
		{"one binder type, the code's choice", `spring.cloud.stream:
  function.definition: fromKafka;plain
  kafka.default.consumer.enableDlq: true
  bindings:
    fromKafka-in-0: { group: g }
`, map[string]bool{"fromKafka-in-0": true, "plain-in-0": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadApp(t, tc.yaml).Stream
			for b, want := range tc.want {
				if got := c.Binding(b).Consumer.DLQ; got != want {
					t.Errorf("%s: dlq %v, want %v", b, got, want)
				}
			}
		})
	}
	t.Run("origin", func(t *testing.T) {
		c := loadApp(t, binders+`  default-binder: kafka1
  kafka.default.consumer.enableDlq: true
  bindings:
    fromRabbit-in-0:
      group: g
      binder: rabbit1
`).Stream
		if o := c.Origins["stream.bindings.fromrabbit-in-0.consumer.dlq"]; o != "application.yaml:11" {
			t.Errorf("origin of fromRabbit-in-0's dlq %q, want the line of its binder", o)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		es := configErrors(t, Options{Data: []byte(binders + `  default-binder: kafka1
  default.consumer.dlq: false
  kafka.default.consumer.enableDlq: true
`)})
		if len(es) != 1 || !strings.Contains(es[0].Error(), "stream.kafka.default.consumer.enable-dlq") || !strings.Contains(es[0].Error(), "is true but stream.default.consumer.dlq is false") {
			t.Fatalf("got %v", es)
		}
	})
}
