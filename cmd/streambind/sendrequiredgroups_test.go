package main

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestSendUnroutableRequiredGroupsQueueSettings: the unroutable hint's
// required-groups come with the queue settings of the group's consumer binding: a
// producer declares its required groups' queues with its own RabbitMQ
// properties (SCSt's rule), so following the hint as it was (required-groups
// alone) made work-in-0's service, with dlq, fail to start later with
// inequivalent arg "x-dead-letter-exchange". With the consumer binding in
// the configuration the hint names its group and the settings to copy;
// without one it says which settings matter.
func TestSendUnroutableRequiredGroupsQueueSettings(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    emit-out-0:
      destination: nc1-shipments
    work-in-0:
      destination: nc1-shipments
      group: audit
      consumer:
        dlq: true
  rabbit:
    bindings:
      work-in-0:
        consumer:
          ttl: 60000
`})
	env := []string{"VHOST=" + vhost}
	const unroutable = `publish to exchange "nc1-shipments" with routing key "nc1-shipments": unroutable message returned by the broker (no queue bound for its routing key); nothing keeps a message sent while no queue is bound: `
	const settings = "give it those of work-in-0, or work-in-0's service fails to start (inequivalent arg): set stream.rabbit.bindings.NAME.producer auto-bind-dlq: true, ttl: 60000\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--destination", "nc1-shipments", `{}`}, "sent 0 messages to nc1-shipments (nc1-shipments on binder rabbit)\n" +
			`streambind: argument 1: rabbit: send to "nc1-shipments": ` + unroutable + startConsumerFirst +
			", or send through an output binding of the destination whose producer.required-groups is audit (the group of work-in-0; streambind send --binding NAME), which declares and binds its queue before the first message, with NAME's own queue settings, as in SCSt: " + settings},
		{[]string{"send", "--binding", "work-in-0", `{}`}, "sent 0 messages to work-in-0 (nc1-shipments on binder rabbit)\n" +
			`streambind: argument 1: rabbit: send to "nc1-shipments" (--binding work-in-0): ` + unroutable +
			"start the service of work-in-0 first (its consumer declares and binds its group's queue, which keeps what arrives while it is stopped), or send through an output binding whose producer.required-groups is audit (streambind send --binding NAME), which declares and binds that queue before the first message, with NAME's own queue settings, as in SCSt: " + settings},
		{[]string{"send", "--binding", "emit-out-0", `{}`}, "sent 0 messages to emit-out-0 (nc1-shipments on binder rabbit)\n" +
			`streambind: argument 1: binding emit-out-0: send to nc1-shipments: rabbit: send to "nc1-shipments" (binding emit-out-0): ` + unroutable + startConsumerFirst +
			", or set stream.bindings.emit-out-0.producer.required-groups to audit (the group of work-in-0): send (as the service's producer) then declares and binds its queue before the first message, with emit-out-0's own queue settings, as in SCSt: " +
			strings.ReplaceAll(settings, "NAME", "emit-out-0")},
		// No consumer of lonely in the configuration: which settings.
		{[]string{"send", "--destination", "lonely", `{}`}, "sent 0 messages to lonely (lonely on binder rabbit)\n" +
			`streambind: argument 1: rabbit: send to "lonely": publish to exchange "lonely" with routing key "lonely": unroutable message returned by the broker (no queue bound for its routing key); nothing keeps a message sent while no queue is bound: ` + startConsumerFirst +
			", or send through an output binding of the destination whose producer.required-groups names the group (streambind send --binding NAME), which declares and binds its queue before the first message, " +
			"with NAME's own queue settings (stream.rabbit.bindings.NAME.producer), as in SCSt: give it those of the group's consumer binding (auto-bind-dlq: true for one with dlq, and its ttl, max-length, quorum, dead-letter-* ...), or that consumer's service fails to start (inequivalent arg)\n"},
	} {
		r := runIn(t, dir, env, tc.args...)
		if r.code != exitFailure || r.stderr != tc.want {
			t.Errorf("%v: exit status %d, stderr\n%s\nwant\n%s", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
