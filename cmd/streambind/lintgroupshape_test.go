package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// groupShapeYAML is a service whose createOrder-out-0 provisions the group
// invoicing of orders (required-groups) that its invoice-in-0 reads, on
// binder typ, with the producer and consumer settings given.
func groupShapeYAML(typ, producer, consumer string) string {
	return `stream:
  function:
    definition: createOrder;invoice
  default-binder: ` + typ + `
  binders:
    ` + typ + `:
      type: ` + typ + `
  bindings:
    createOrder-out-0:
      destination: orders
      producer:
        required-groups: invoicing
` + producer + `    invoice-in-0:
      destination: orders
      group: invoicing
` + consumer
}

// TestLintRequiredGroupsPartitionShape: a partitioned producer's
// required-groups provisions the group partitioned (RabbitMQ: the queues
// orders.invoicing-<p>, SCSt's names; NATS: the durables invoicing_p<p>),
// which an unpartitioned consumer of the group never reads (it reads
// orders.invoicing, the durable invoicing): they fill up for ever, and
// the other way round (an unpartitioned producer's orders.invoicing or
// invoicing, partitioned consumers). lint said nothing (new-user trial:
// the queues held 4 and 2 messages after one run, 0 consumers); it warns at
// the producer's required-groups, naming what nothing reads, what the
// consumer reads and what to set. Not on Redis or the in-process binder,
// where either shape reads what the producer provisions, nor with
// matching shapes.
func TestLintRequiredGroupsPartitionShape(t *testing.T) {
	const partitionedProducer = "        partition-count: 2\n        partition-key-expression: payload.id\n"
	const partitionedConsumer = "      consumer:\n        partitioned: true\n        instance-count: 2\n"
	const at = "application.yaml:12: stream.bindings.createOrder-out-0.producer.required-groups: warning: "
	const toPart = "Set the shapes alike: partition the group's consumers (consumer.partitioned: true, instance-count 2, one instance-index each), or remove invoicing from required-groups (its consumers then make what they read when they bind; what is sent before that is not kept for them); "
	const toUnpart = "Set the shapes alike: partition this producer as the group's consumers are (partition-key-expression, partition-count 2), or remove invoicing from required-groups (its consumers then make what they read when they bind; what is sent before that is not kept for them); "
	const rabbitKeeps = "which nothing reads: each keeps a copy of every message sent to it and fills up for ever. "
	const natsKeeps = "which nothing reads: every message sent stays pending there for ever (and an interest or workqueue stream keeps it). "
	for _, tc := range []struct {
		name, typ, producer, consumer string
		want                          []string
	}{
		{"rabbit partitioned producer", "rabbit", partitionedProducer, "", []string{at +
			"the consumer of group invoicing, invoice-in-0 (application.yaml:LINE), is not partitioned and reads the queue orders.invoicing, but this producer is partitioned (partition-count 2): " +
			"on RabbitMQ its required-groups makes the partition queues orders.invoicing-0, orders.invoicing-1, " + rabbitKeeps + toPart + "then delete the queues already declared"}},
		{"rabbit partitioned consumer", "rabbit", "", partitionedConsumer, []string{
			"application.yaml:17: stream.bindings.invoice-in-0.consumer.partitioned: is true, but createOrder-out-0 (application.yaml:9) sends to orders unpartitioned: on RabbitMQ a partitioned consumer's queue is bound with the routing key orders-<instance-index> and an unpartitioned producer publishes without the -<partition> suffix, so no instance receives its messages",
			at +
				"the consumer of group invoicing, invoice-in-0 (application.yaml:LINE), is partitioned and reads the queues orders.invoicing-<instance-index>, but this producer is not: " +
				"on RabbitMQ its required-groups makes the queue orders.invoicing, " + rabbitKeeps + toUnpart + "then delete the queues already declared"}},
		{"nats partitioned producer", "nats", partitionedProducer, "", []string{at +
			"the consumer of group invoicing, invoice-in-0 (application.yaml:LINE), is not partitioned and reads the durable invoicing, but this producer is partitioned (partition-count 2): " +
			"on NATS its required-groups makes the durable consumers invoicing_p0, invoicing_p1, " + natsKeeps + toPart + "then delete the durables already made (nats consumer rm <stream> <consumer>)"}},
		{"nats partitioned consumer", "nats", "", partitionedConsumer, []string{
			"application.yaml:17: stream.bindings.invoice-in-0.consumer.partitioned: is true, but createOrder-out-0 (application.yaml:9) sends to orders unpartitioned: on NATS a partitioned consumer reads only the partition subjects orders.<p>, so no instance receives its messages",
			at + "the consumer of group invoicing, invoice-in-0 (application.yaml:LINE), is partitioned and reads the durables invoicing_p<instance-index>, but this producer is not: " +
				"on NATS its required-groups makes the durable consumer invoicing, " + natsKeeps + toUnpart + "then delete the durables already made (nats consumer rm <stream> <consumer>)"}},
		// The shapes alike: clean.
		{"rabbit both partitioned", "rabbit", partitionedProducer, partitionedConsumer, nil},
		{"nats both partitioned", "nats", partitionedProducer, partitionedConsumer, nil},
		{"rabbit neither", "rabbit", "", "", nil},
		{"nats neither", "nats", "", "", nil},
		// Either shape reads what the producer provisions.
		{"redis", "redis", partitionedProducer, "", nil},
		{"memory", "memory", partitionedProducer, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": groupShapeYAML(tc.typ, tc.producer, tc.consumer)})
			r := runIn(t, dir, nil, "lint")
			// The consumer's line: 13 below an unpartitioned producer.
			line := strconv.Itoa(13 + strings.Count(tc.producer, "\n"))
			var want []string
			for _, l := range tc.want {
				want = append(want, strings.ReplaceAll(l, "LINE", line))
			}
			slices.Sort(want)
			got := r.lines()
			slices.Sort(got)
			assertLines(t, got, want)
			wantCode := exitOK
			for _, l := range tc.want {
				if !strings.Contains(l, ": warning: ") {
					wantCode = exitFailure
				}
			}
			if r.code != wantCode {
				t.Errorf("exit status %d, want %d; stderr %q", r.code, wantCode, r.stderr)
			}
		})
	}
}

// The trial's set-up: the producer partitioned through the environment
// (STREAM_BINDINGS_..._PRODUCER_PARTITIONCOUNT, ..._PARTITIONKEYEXPRESSION)
// over a file whose producer is not: the warning is at the file's
// required-groups, and --strict fails the run.
func TestLintRequiredGroupsPartitionShapeEnv(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": groupShapeYAML("rabbit", "", "")})
	env := []string{"STREAM_BINDINGS_CREATEORDER_OUT_0_PRODUCER_PARTITIONCOUNT=2", "STREAM_BINDINGS_CREATEORDER_OUT_0_PRODUCER_PARTITIONKEYEXPRESSION=payload.id"}
	r := runIn(t, dir, env, "lint", "--strict")
	lines := r.lines()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "application.yaml:12: stream.bindings.createOrder-out-0.producer.required-groups: warning: the consumer of group invoicing, invoice-in-0 (application.yaml:13), is not partitioned") ||
		!strings.Contains(lines[0], "orders.invoicing-0, orders.invoicing-1, which nothing reads") || r.code != exitFailure {
		t.Errorf("exit status %d, output:\n%s", r.code, strings.Join(lines, "\n"))
	}
}
