package main

import (
	"strings"
	"testing"
)

// partitioned on an anonymous consumer does not apply (every binder gives
// it every partition's messages, as SCSt does): lint reports the app's
// WARN at the key, and its partition-count/instance-count checks leave
// the consumer out. They reported instance 2 of 3 as
// receiving nothing from a producer of partition-count 2 (and, on
// RabbitMQ, an unpartitioned producer as reaching no instance), which an
// anonymous consumer does receive. With a group they still apply.
func TestLintPartitionedAnonymous(t *testing.T) {
	const producer = `stream.function.definition: emit;emitPlain
stream.default-binder: rabbit
stream.bindings.emit-out-0.destination: jobs
stream.bindings.emit-out-0.producer.partition-key-expression: payload.id
stream.bindings.emit-out-0.producer.partition-count: 2
stream.bindings.emitPlain-out-0.destination: tasks
`
	const consumer = `stream.function.definition: work;task
stream.default-binder: rabbit
stream.bindings.work-in-0.destination: jobs
stream.bindings.work-in-0.consumer.partitioned: true
stream.bindings.work-in-0.consumer.instance-index: 2
stream.bindings.work-in-0.consumer.instance-count: 3
stream.bindings.task-in-0.destination: tasks
stream.bindings.task-in-0.consumer.partitioned: true
stream.bindings.task-in-0.consumer.instance-count: 2
`
	dir := writeFiles(t, map[string]string{
		"producer/application.yaml": producer,
		"anon/application.yaml":     consumer,
		"group/application.yaml": consumer + "stream.bindings.work-in-0.group: workers\n" +
			"stream.bindings.task-in-0.group: taskers\n",
	})
	r := runIn(t, dir, nil, "lint", "producer", "anon")
	want := []string{
		"anon/application.yaml:4: stream.bindings.work-in-0.consumer.partitioned: warning: consumer.partitioned does not apply to a binding without a group (an anonymous consumer): it receives every partition's messages, whichever its instance-index (which must still be below instance-count), as in SCSt; set group to share the partitions among instances (binding: work-in-0; instance index: 2; instance count: 3)",
		"anon/application.yaml:8: stream.bindings.task-in-0.consumer.partitioned: warning: consumer.partitioned does not apply to a binding without a group (an anonymous consumer): it receives every partition's messages, whichever its instance-index (which must still be below instance-count), as in SCSt; set group to share the partitions among instances (binding: task-in-0; instance index: 0; instance count: 2)",
	}
	if r.code != 0 {
		t.Errorf("anonymous: exit status %d, want 0 (warnings only); stderr:\n%s", r.code, r.stderr)
	}
	assertLines(t, r.lines(), want)
	r = runIn(t, dir, nil, "lint", "producer", "group")
	if r.code != exitFailure || !strings.Contains(r.stdout, "stream.bindings.work-in-0.consumer.instance-count: is 3") ||
		!strings.Contains(r.stdout, "stream.bindings.task-in-0.consumer.partitioned: is true") || strings.Contains(r.stdout, "does not apply") {
		t.Errorf("with groups: exit status %d, want %d with the partition checks; stdout:\n%s\nstderr:\n%s", r.code, exitFailure, r.stdout, r.stderr)
	}
}
