package rabbit

import (
	"fmt"
	"maps"

	"github.com/streambind/streambind/stream"
)

// DeclaredQueue is a queue as a binding declares it: its name, its
// x-arguments (nil when it has none) and whether it is durable, which
// RabbitMQ compares with those of an existing queue of that name
// (inequivalent arg when they differ). DLQ says it is a dead-letter
// queue. A producer's required-groups declares durable queues; a
// consumer's group queue is not durable with durable-subscription false.
type DeclaredQueue struct {
	Name    string
	Args    map[string]any
	Durable bool
	DLQ     bool
}

// ConsumerQueues returns the queues consumer binding spec declares for its
// named group, as the binder declares them at bind time: the group's queue
// and, with dlq, its DLQ (not the wait queues of retry-delays, which no
// producer declares). An anonymous consumer's queue is its own (exclusive,
// named at start): none is returned. A partitioned consumer with
// instance-index-list binds one consumer per listed index
// (stream.ConsumerConfig.InstanceIndexes), so its queues are each listed
// index's, in the list's order, and then the DLQ they share, once. The
// error is the binding's properties'. streambind lint compares them with
// the queues a producer's required-groups declare (RequiredGroupQueues).
func ConsumerQueues(spec stream.ConsumerSpec) ([]DeclaredQueue, error) {
	o, err := parseConsumerOptions(spec.Binding, spec.Consumer.Concurrency, spec.Extension)
	if err != nil || spec.Group == "" {
		return nil, err
	}
	idx := spec.Consumer.InstanceIndexes(spec.Group)
	if len(idx) == 0 {
		idx = []int{spec.Consumer.InstanceIndex}
	}
	var queues, dlqs []DeclaredQueue
	seen := map[string]bool{}
	for _, i := range idx {
		s := spec
		s.Consumer.InstanceIndex = i
		c := &consumer{spec: s, opts: o, dest: s.Destination}
		q := o.queueName(s.Destination, s.Group, s.Consumer.Partitioned, i)
		for _, d := range declaredQueues(c.topology(q), 1) {
			if seen[d.Name] {
				continue
			}
			seen[d.Name] = true
			if d.DLQ {
				dlqs = append(dlqs, d)
			} else {
				queues = append(queues, d)
			}
		}
	}
	return append(queues, dlqs...), nil
}

// RequiredGroupQueues returns the queues producer binding spec declares
// for its required-groups (with the producer's auto-bind-dlq, their DLQs),
// as the binder declares them at bind time.
func RequiredGroupQueues(spec stream.ProducerSpec) ([]DeclaredQueue, error) {
	o, err := parseProducerOptions(spec.Binding, spec.Extension)
	if err != nil {
		return nil, err
	}
	t, err := producerTopology(spec, o)
	if err != nil {
		return nil, fmt.Errorf("rabbit: producer %s: %w", spec.Binding, err)
	}
	return declaredQueues(t, len(t.queues)), nil
}

// declaredQueues lists the first n queues of t and its DLQs.
func declaredQueues(t topology, n int) []DeclaredQueue {
	var out []DeclaredQueue
	for _, q := range t.queues[:n] {
		out = append(out, DeclaredQueue{Name: q.name, Args: maps.Clone(map[string]any(q.args)), Durable: q.durable})
	}
	for _, q := range t.dlqs {
		out = append(out, DeclaredQueue{Name: q.name, Args: maps.Clone(map[string]any(q.args)), Durable: q.durable, DLQ: true})
	}
	return out
}
