package main

import (
	"strings"
	"testing"
)

// TestLintRequiredGroupsNonDurableConsumer: a producer's required-groups
// declares the group's queue durable (SCSt's provisioner does, and the
// binder has no producer setting for it), while a consumer binding of the
// group with durable-subscription: false declares it non-durable and
// auto-delete: whichever binds second fails at start (inequivalent arg
// 'durable', PRECONDITION_FAILED). lint reports it at the producer's
// required-groups, naming both bindings and the two fixes; only that (the
// other arguments matter once it is fixed: with dlq, the consumer's queue
// has x-dead-letter-* arguments the producer's lacks). It said nothing,
// or, with dlq, only that auto-bind-dlq differs, whose fix still clashed.
// The default durable-subscription is clean.
func TestLintRequiredGroupsNonDurableConsumer(t *testing.T) {
	const want = "application.yaml:12: stream.bindings.emit-out-0.producer.required-groups: declares the queue nc1-shipments.audit of group audit durable, and work-in-0 (application.yaml:13), the group's consumer, declares it non-durable and auto-delete (durable-subscription: false). " +
		"Whichever of the two binds second fails at start (inequivalent arg 'durable', PRECONDITION_FAILED), the consumer's service once a send went through this producer. " +
		"A producer declares its required groups' queues durable, as SCSt does, and has no setting to do otherwise: remove audit from stream.bindings.emit-out-0.producer.required-groups, or drop durable-subscription: false from work-in-0 (true is the default)"
	const section = `  rabbit:
    bindings:
      work-in-0:
        consumer:
          durable-subscription: DURABLE
`
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"non-durable", section, []string{want}},
		{"non-durable with dlq", "      consumer:\n        dlq: true\n" + section, []string{want}},
		{"durable", section, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			durable := "false"
			if tc.want == nil {
				durable = "true"
			}
			dir := writeFiles(t, map[string]string{"application.yaml": requiredGroupsHead + strings.ReplaceAll(tc.yaml, "DURABLE", durable)})
			r := runIn(t, dir, nil, "lint")
			assertLines(t, r.lines(), tc.want)
			if want := map[bool]int{true: exitOK, false: exitFailure}[tc.want == nil]; r.code != want {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, want, r.stderr)
			}
		})
	}
}
