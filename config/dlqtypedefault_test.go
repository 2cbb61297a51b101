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
	// A binding's alias under another type's section is not the binding's
	// binder's property (SCSt's Kafka binder does not read
	// spring.cloud.stream.rabbit.bindings.*): it gave a binding on Kafka a
	// dead-letter topic, and an SCSt file that sets both binders' aliases
	// of one binding (one true, one false) was refused as a conflict.
	t.Run("a binding's alias of another type", func(t *testing.T) {
		for _, tc := range []struct {
			name, yaml string
			want       bool
		}{
			{"binder named", binders + `  default-binder: rabbit1
  rabbit.bindings.fromKafka-in-0.consumer.autoBindDlq: true
  bindings:
    fromKafka-in-0: { group: g, binder: kafka1 }
`, false},
			{"the default binder's type", binders + `  default-binder: kafka1
  rabbit.bindings.fromKafka-in-0.consumer.auto-bind-dlq: true
`, false},
			{"both types' aliases", binders + `  default-binder: kafka1
  rabbit.bindings.fromKafka-in-0.consumer.auto-bind-dlq: true
  kafka.bindings.fromKafka-in-0.consumer.enable-dlq: false
  rabbit.bindings.fromRabbit-in-0.consumer.auto-bind-dlq: false
  kafka.bindings.fromRabbit-in-0.consumer.enable-dlq: true
  bindings:
    fromRabbit-in-0: { group: g, binder: rabbit1 }
`, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l, err := Load(Options{Data: []byte(tc.yaml), Env: []string{}})
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range []string{"fromKafka-in-0", "fromRabbit-in-0"} {
					if got := l.Stream.Binding(b).Consumer.DLQ; got != tc.want {
						t.Errorf("%s: dlq %v, want %v", b, got, tc.want)
					}
				}
				warned := false
				for _, w := range l.Warnings {
					warned = warned || strings.Contains(w.Error(), "rabbit.bindings.fromKafka-in-0.consumer.") && strings.Contains(w.Error(), "is on a binder of type kafka")
				}
				if !warned {
					t.Errorf("warnings %v, want one naming the ignored alias", l.Warnings)
				}
			})
		}
	})
	t.Run("conflict", func(t *testing.T) {
		es := configErrors(t, Options{Data: []byte(binders + `  default-binder: kafka1
  default.consumer.dlq: false
  kafka.default.consumer.enableDlq: true
`)})
		// Named as written (spring.cloud.stream..., enableDlq); Path canonical.
		if len(es) != 1 || es[0].Path != "stream.kafka.default.consumer.enable-dlq" || !strings.HasPrefix(es[0].Error(), "spring.cloud.stream.kafka.default.consumer.enableDlq (application.yaml:") || !strings.Contains(es[0].Error(), "is true but stream.default.consumer.dlq is false") {
			t.Fatalf("got %v", es)
		}
	})
}
