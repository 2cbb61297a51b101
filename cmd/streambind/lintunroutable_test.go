package main

import (
	"strings"
	"testing"
)

// unroutable is the warning for a mandatory RabbitMQ producer of dest
// that no queue is known to be bound to.
func unroutable(dest string) string {
	return "the producer publishes mandatory to exchange " + dest + ", and no queue is known to be bound to it (required-groups is not set and no consumer of the services given reads it): " +
		"until some app binds one, every send is returned unroutable and fails (ErrUnroutable, transient), so a function's input is redelivered for ever and a bridge send fails; " +
		"set required-groups (the producer declares the group's queue before its first send), lint the consuming service together with this one, or set mandatory: false to drop what no queue takes"
}

// TestLintMandatoryUnroutable: a RabbitMQ producer that publishes
// mandatory (the default, or set) to an exchange that neither its
// required-groups nor a consumer of the services given binds a queue to
// is a warning (every send is returned unroutable, so the function's
// input is redelivered for ever; lint said nothing), at mandatory where
// it is set, else at the binding; not with required-groups, mandatory
// false, or a consumer of the destination among the services given, and
// only when several services are linted together (a producer service
// linted alone has its consumers elsewhere: the review found the warning on
// 5 of ~22 RabbitMQ configurations of the repository, the SCSt samples'
// among them).
func TestLintMandatoryUnroutable(t *testing.T) {
	const head = `
stream:
  function:
    definition: relay
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    relay-in-0: { destination: in, group: g }
    relay-out-0:
      destination: out
`
	consumer := `
stream:
  function:
    definition: sink
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    sink-in-0: { destination: out, group: sink }
`
	dir := writeFiles(t, map[string]string{
		"default/application.yaml": head,
		"set/application.yaml": head + `  rabbit:
    bindings:
      relay-out-0:
        producer:
          mandatory: true
`,
		"setdefault/application.yaml": head + `  rabbit:
    default:
      producer:
        mandatory: true
`,
		"groups/application.yaml": head + `      producer:
        required-groups: sink
`,
		"off/application.yaml": head + `  rabbit:
    bindings:
      relay-out-0:
        producer:
          mandatory: false
`,
		"consumer/application.yaml": consumer,
		"other/application.yaml":    strings.Replace(consumer, "destination: out", "destination: elsewhere", 1),
	})
	for _, tc := range []struct {
		dirs []string
		want []string
	}{
		{[]string{"default", "other"}, []string{"default/application.yaml:11: stream.bindings.relay-out-0.producer.required-groups: warning: " + unroutable("out") +
			" (producer.required-groups is not set: its default applies)"}},
		{[]string{"set", "other"}, []string{"set/application.yaml:17: stream.rabbit.bindings.relay-out-0.producer.mandatory: warning: " + unroutable("out")}},
		{[]string{"setdefault", "other"}, []string{"setdefault/application.yaml:16: stream.rabbit.default.producer.mandatory: warning: binding relay-out-0: " + unroutable("out")}},
		// A producer service alone: its consumers are elsewhere.
		{[]string{"default"}, nil},
		{[]string{"set"}, nil},
		{[]string{"groups", "consumer"}, nil},
		{[]string{"off"}, nil},
		{[]string{"default", "consumer"}, nil},
	} {
		r := runIn(t, dir, nil, append([]string{"lint"}, tc.dirs...)...)
		if r.code != exitOK {
			t.Errorf("%v: exit status %d, want 0 (warnings only)", tc.dirs, r.code)
		}
		assertLines(t, r.lines(), tc.want)
	}
}
