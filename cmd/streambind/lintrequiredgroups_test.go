package main

import (
	"strings"
	"testing"
)

// requiredGroupsHead is a service whose emit-out-0 provisions the group
// audit of nc1-shipments (required-groups) that its work-in-0 reads, on
// RabbitMQ; the test adds work-in-0's consumer settings and the rabbit
// section.
const requiredGroupsHead = `stream:
  function:
    definition: emit;work
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    emit-out-0:
      destination: nc1-shipments
      producer:
        required-groups: audit
    work-in-0:
      destination: nc1-shipments
      group: audit
`

// TestLintRequiredGroupsQueueArguments: a producer's required-groups
// declares the group's queue with the producer's own RabbitMQ properties
// (SCSt's rule), so a consumer of the group with dlq, ttl, quorum ...
// declares it with other arguments, and whichever binds second fails at
// start (inequivalent arg "x-dead-letter-exchange": the consumer's service,
// after a streambind send through the producer as its unroutable hint
// said). lint reports it at the producer's required-groups, naming both
// bindings, the settings that differ and what to set on the producer;
// following that, lint is clean. It said nothing.
func TestLintRequiredGroupsQueueArguments(t *testing.T) {
	const at = "application.yaml:12: stream.bindings.emit-out-0.producer.required-groups: declares the queue nc1-shipments.audit of group audit with other arguments than work-in-0 (application.yaml:13), the group's consumer, declares it with: "
	const tail = ". Whichever of the two binds second fails at start (inequivalent arg, PRECONDITION_FAILED), the consumer's service once a send went through this producer. " +
		"A producer declares its required groups' queues with its own RabbitMQ producer properties, as SCSt does: set stream.rabbit.bindings.emit-out-0.producer "
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"dlq", `      consumer:
        dlq: true
`, []string{at + "dlq on work-in-0 (x-dead-letter-exchange DLX, x-dead-letter-routing-key nc1-shipments.audit), no auto-bind-dlq on emit-out-0" + tail + "auto-bind-dlq: true"}},
		{"dlq and queue arguments", `      consumer:
        dlq: true
  rabbit:
    bindings:
      work-in-0:
        consumer:
          ttl: 60000
          quorum:
            enabled: true
          dead-letter-exchange: audit-dlx
          dlq-max-length: 1000
`, []string{at + "dlq on work-in-0 (x-dead-letter-exchange audit-dlx, x-dead-letter-routing-key nc1-shipments.audit), no auto-bind-dlq on emit-out-0; " +
			"ttl (x-message-ttl) 60000 on work-in-0, not set on emit-out-0; quorum.enabled (x-queue-type) quorum on work-in-0, not set on emit-out-0" + tail +
			"auto-bind-dlq: true, dead-letter-exchange: audit-dlx, ttl: 60000, quorum.enabled: true, dlq-max-length: 1000"}},
		{"both dlq, the DLQ differs", `      consumer:
        dlq: true
  rabbit:
    bindings:
      work-in-0:
        consumer:
          dlq-ttl: 5s
      emit-out-0:
        producer:
          auto-bind-dlq: true
          max-length: 10
`, []string{at + "max-length (x-max-length) not set on work-in-0, 10 on emit-out-0; dlq-ttl (the DLQ's x-message-ttl) 5000 on work-in-0, not set on emit-out-0" + tail +
			"no max-length, dlq-ttl: 5000"}},
		{"producer dlq only", `  rabbit:
    bindings:
      emit-out-0:
        producer:
          auto-bind-dlq: true
`, []string{at + "auto-bind-dlq on emit-out-0 (x-dead-letter-exchange DLX, x-dead-letter-routing-key nc1-shipments.audit), no dlq on work-in-0" + tail +
			"auto-bind-dlq: false (or consumer.dlq: true on work-in-0)"}},
		// What the error said to set: clean.
		{"matching", `      consumer:
        dlq: true
  rabbit:
    bindings:
      work-in-0:
        consumer:
          ttl: 60000
          quorum:
            enabled: true
          dead-letter-exchange: audit-dlx
          dlq-max-length: 1000
      emit-out-0:
        producer:
          auto-bind-dlq: true
          dead-letter-exchange: audit-dlx
          ttl: 60000
          quorum.enabled: true
          dlq-max-length: 1000
`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": requiredGroupsHead + tc.yaml})
			r := runIn(t, dir, nil, "lint")
			assertLines(t, r.lines(), tc.want)
			if want := map[bool]int{true: exitOK, false: exitFailure}[tc.want == nil]; r.code != want {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, want, r.stderr)
			}
		})
	}
}

// TestLintRequiredGroupsInstanceIndexList: a partitioned consumer with
// instance-index-list declares the queue of each listed index
// (rabbit.ConsumerQueues); lint compares the first the producer's
// required-groups declares, and the DLQ they share. It compared only the
// queue of the list's first index, so that a list whose first index the
// producer declares no queue of (instance-count 3, partition-count 2,
// list [2, 0]) went unreported; and the queues of a list must not be
// taken for the DLQ.
func TestLintRequiredGroupsInstanceIndexList(t *testing.T) {
	const head = `stream:
  function:
    definition: emit;work
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    emit-out-0:
      destination: nc1-shipments
      producer:
        required-groups: audit
        partition-count: 2
        partition-key-expression: headers['k']
    work-in-0:
      destination: nc1-shipments
      group: audit
      consumer:
        dlq: true
        partitioned: true
`
	const tail = ". Whichever of the two binds second fails at start (inequivalent arg, PRECONDITION_FAILED), the consumer's service once a send went through this producer. " +
		"A producer declares its required groups' queues with its own RabbitMQ producer properties, as SCSt does: set stream.rabbit.bindings.emit-out-0.producer auto-bind-dlq: true"
	for _, tc := range []struct {
		name, yaml string
		want       string // a line of lint's; "" for none on required-groups
	}{
		{"list of every partition", `        instance-count: 2
        instance-index-list: [1, 0]
`, "application.yaml:12: stream.bindings.emit-out-0.producer.required-groups: declares the queue nc1-shipments.audit-1 of group audit with other arguments than work-in-0 (application.yaml:15), the group's consumer, declares it with: " +
			"dlq on work-in-0 (x-dead-letter-exchange DLX, x-dead-letter-routing-key nc1-shipments.audit-1), no auto-bind-dlq on emit-out-0" + tail},
		{"first index not provisioned", `        instance-count: 3
        instance-index-list: [2, 0]
`, "application.yaml:12: stream.bindings.emit-out-0.producer.required-groups: declares the queue nc1-shipments.audit-0 of group audit with other arguments than work-in-0 (application.yaml:15), the group's consumer, declares it with: " +
			"dlq on work-in-0 (x-dead-letter-exchange DLX, x-dead-letter-routing-key nc1-shipments.audit-0), no auto-bind-dlq on emit-out-0" + tail},
		{"matching", `        instance-count: 2
        instance-index-list: [1, 0]
  rabbit:
    bindings:
      emit-out-0:
        producer:
          auto-bind-dlq: true
`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": head + tc.yaml})
			r := runIn(t, dir, nil, "lint")
			var got []string
			for _, l := range r.lines() {
				if strings.Contains(l, "required-groups:") {
					got = append(got, l)
				}
			}
			want := []string{tc.want}
			if tc.want == "" {
				want = nil
			}
			assertLines(t, got, want)
			if t.Failed() {
				t.Logf("all of lint's output: %q", r.lines())
			}
		})
	}
}
