package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// requiredGroupShapes warns, at a producer's required-groups, of a group
// the producer provisions in the other partition shape than the group's
// consumers of the destination (same broker) read it, on the binders
// where the two shapes are different things on the broker:
//
//   - RabbitMQ: a partitioned producer declares one queue per partition,
//     <destination>.<group>-<p> (SCSt's provisioner), an unpartitioned
//     one the queue <destination>.<group>; a consumer reads the queue of
//     its own shape.
//   - NATS: a partitioned producer makes the durables <group>_p<p>, an
//     unpartitioned one the durable <group>; likewise.
//
// What the producer made in the other shape is read by no one and keeps
// (a queue) or counts as pending (a durable) every message sent, for
// ever. The group's consumers still get the messages through their own
// queue or durable: nothing is lost, so a warning, as for required-groups
// that no consumer reads. Not on Redis (a group is a consumer group of
// each of the destination's streams, and either shape reads them all),
// the in-process binder (a provisioned group is re-laid out for its first
// consumer) or Kafka (required-groups provisions nothing). Groups with no
// consumer among the services given, or with one consumer of the
// producer's shape, are not reported here.
func requiredGroupShapes(producers, consumers map[destKey][]endpoint) []problem {
	var out []problem
	for _, k := range sortedDestKeys(producers) {
		if k.typ != rabbit.Type && k.typ != nats.Type {
			continue
		}
		for _, p := range producers[k] {
			partitioned := p.b.producer.IsPartitioned()
			var seen []string
			for _, g := range p.b.producer.RequiredGroups {
				if g = strings.TrimSpace(g); g == "" || slices.Contains(seen, g) {
					continue
				}
				seen = append(seen, g)
				var others []endpoint
				same := false
				for _, c := range consumers[k] {
					if !readsRequiredGroup(k, p, g, c) {
						continue
					}
					if c.b.consumer.Partitioned == partitioned {
						same = true
						break
					}
					others = append(others, c)
				}
				if same || len(others) == 0 {
					continue
				}
				if msg := groupShapeMessage(k, p, g, others); msg != "" {
					out = append(out, p.keyProblem(kindRequiredGroups, "producer.required-groups", msg, true))
				}
			}
		}
	}
	return out
}

// readsRequiredGroup reports whether consumer c reads group g that producer p
// provisions on k: on NATS a consumer of group g, on RabbitMQ one whose
// queue (its unpartitioned name) is the one p declares for g unpartitioned
// (prefixes and queue-name-group-only applied).
func readsRequiredGroup(k destKey, p endpoint, g string, c endpoint) bool {
	if c.b.group != g {
		return false
	}
	if k.typ != rabbit.Type {
		return true
	}
	pq := rabbitGroupQueues(p, k, g, false)
	cs := stream.ConsumerSpec{Binding: c.b.name, Destination: destOf(c.b, k), Group: g, Consumer: c.b.consumer, Extension: c.b.ext}
	cs.Consumer.Partitioned = false
	cqs, err := rabbit.ConsumerQueues(cs)
	return err == nil && len(cqs) > 0 && len(pq) > 0 && cqs[0].Name == pq[0]
}

// rabbitGroupQueues is the queues (not DLQs) RabbitMQ producer p declares
// on k for required group g, as partitioned says (its own shape, or
// unpartitioned when false).
func rabbitGroupQueues(p endpoint, k destKey, g string, partitioned bool) []string {
	pc := p.b.producer
	pc.RequiredGroups = []string{g}
	if !partitioned {
		pc.PartitionKeyExpression, pc.PartitionKeyExtractorName = "", ""
	}
	qs, err := rabbit.RequiredGroupQueues(stream.ProducerSpec{Binding: p.b.name, Destination: destOf(p.b, k), Producer: pc, Extension: p.b.ext})
	if err != nil {
		return nil // the binder's validator reports it
	}
	var out []string
	for _, q := range qs {
		if !q.DLQ {
			out = append(out, q.Name)
		}
	}
	return out
}

// groupShapeMessage is the warning for producer p, whose required group g
// on k is read by consumers cs of the other partition shape only: what
// the producer makes that nobody reads, what they read, and what to set.
// "" when there is nothing to say (the producer declares no queue).
func groupShapeMessage(k destKey, p endpoint, g string, cs []endpoint) string {
	partitioned := p.b.producer.IsPartitioned()
	n := max(p.b.producer.PartitionCount, 1)
	var refs []string
	for _, c := range cs {
		refs = append(refs, c.ref(p.svc))
	}
	adj := "partitioned"
	if partitioned {
		adj = "not partitioned"
	}
	var made, reads, keeps, cleanup string
	switch k.typ {
	case rabbit.Type:
		qs := rabbitGroupQueues(p, k, g, partitioned)
		if len(qs) == 0 {
			return "" // bind-queue: false
		}
		base := rabbitGroupQueues(p, k, g, false)[0]
		if partitioned {
			made = "the partition queues " + strings.Join(qs, ", ")
			reads = "the queue " + base
		} else {
			made = "the queue " + qs[0]
			reads = "the queues " + base + "-<instance-index>"
		}
		keeps = "which nothing reads: each keeps a copy of every message sent to it and fills up for ever"
		cleanup = "then delete the queues already declared"
	case nats.Type:
		var ds []string
		if partitioned {
			for i := range n {
				ds = append(ds, nats.DurableName(g, i))
			}
			made = "the durable consumers " + strings.Join(ds, ", ")
			reads = "the durable " + nats.DurableName(g, -1)
		} else {
			made = "the durable consumer " + nats.DurableName(g, -1)
			reads = "the durables " + nats.DurableName(g, -1) + "_p<instance-index>"
		}
		keeps = "which nothing reads: every message sent stays pending there for ever (and an interest or workqueue stream keeps it)"
		cleanup = "then delete the durables already made (nats consumer rm <stream> <consumer>)"
	}
	shape, broker := fmt.Sprintf("is partitioned (partition-count %d)", n), "RabbitMQ"
	if !partitioned {
		shape = "is not"
	}
	if k.typ == nats.Type {
		broker = "NATS"
	}
	who := fmt.Sprintf("the consumer of group %s, %s, is %s and reads %s", g, refs[0], adj, reads)
	if len(refs) > 1 {
		who = fmt.Sprintf("the consumers of group %s, %s, are %s and read %s", g, strings.Join(refs, ", "), adj, reads)
	}
	var fix string
	if partitioned {
		fix = fmt.Sprintf("partition the group's consumers (consumer.partitioned: true, instance-count %d, one instance-index each)", n)
	} else {
		fix = fmt.Sprintf("partition this producer as the group's consumers are (partition-key-expression, partition-count %d)", max(cs[0].b.consumer.InstanceCount, 1))
	}
	return fmt.Sprintf("%s, but this producer %s: on %s its required-groups makes %s, %s. "+
		"Set the shapes alike: %s, or remove %s from required-groups (its consumers then make what they read when they bind; what is sent before that is not kept for them); %s",
		who, shape, broker, made, keeps, fix, g, cleanup)
}
