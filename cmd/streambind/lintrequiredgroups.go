package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// kindRequiredGroupArgs: a RabbitMQ producer's required-groups declares a
// group's queue with other arguments than the group's consumer does.
const kindRequiredGroupArgs = "required-groups-arguments"

// queueArgSettings names the RabbitMQ property (SCSt's) behind each
// x-argument of a group's queue; the DLQ's are the dlq- ones.
var queueArgSettings = map[string]string{
	"x-message-ttl":               "ttl",
	"x-expires":                   "expires",
	"x-max-length":                "max-length",
	"x-max-length-bytes":          "max-length-bytes",
	"x-max-priority":              "max-priority",
	"x-queue-mode":                "lazy",
	"x-overflow":                  "overflow-behavior",
	"x-queue-type":                "quorum.enabled",
	"x-delivery-limit":            "quorum.delivery-limit",
	"x-quorum-initial-group-size": "quorum.initial-group-size",
	"x-single-active-consumer":    "single-active-consumer",
	"x-dead-letter-exchange":      "dead-letter-exchange",
	"x-dead-letter-routing-key":   "dead-letter-routing-key",
}

// requiredGroupArgs reports, at the producer's required-groups, a
// RabbitMQ producer whose required-groups declares a queue that a consumer
// binding of the same destination (exchange) declares with other
// arguments: a producer declares its required groups' queues with its own
// rabbit producer properties (auto-bind-dlq, ttl, quorum, dead-letter-*
// ...), as SCSt's provisioner does, so whichever of the two binds second
// fails at start (inequivalent arg, PRECONDITION_FAILED) — typically the
// consumer's service, with dlq, after a send through the producer. One
// error for each producer and consumer binding, naming both and the
// settings that differ, with what to set on the producer.
func requiredGroupArgs(producers, consumers map[destKey][]endpoint) []problem {
	var out []problem
	for _, k := range sortedDestKeys(producers) {
		if k.typ != rabbit.Type {
			continue
		}
		for _, p := range producers[k] {
			if !slices.ContainsFunc(p.b.producer.RequiredGroups, func(g string) bool { return strings.TrimSpace(g) != "" }) {
				continue
			}
			ps := stream.ProducerSpec{Binding: p.b.name, Destination: destOf(p.b, k), Producer: p.b.producer, Extension: p.b.ext}
			for _, c := range consumers[k] {
				if c.b.group == "" {
					continue
				}
				cs := stream.ConsumerSpec{Binding: c.b.name, Destination: destOf(c.b, k), Group: c.b.group, Consumer: c.b.consumer, Extension: c.b.ext}
				if cq, pq, _, _, ok := matchGroupQueue(cs, ps); ok && pq.Durable && !cq.Durable {
					// No producer property makes it non-durable: the
					// other arguments matter only once this is fixed.
					out = append(out, p.keyProblem(kindRequiredGroupArgs, "producer.required-groups", fmt.Sprintf(
						"declares the queue %s of group %s durable, and %s, the group's consumer, declares it non-durable and auto-delete (durable-subscription: false). Whichever of the two binds second fails at start (inequivalent arg 'durable', PRECONDITION_FAILED), the consumer's service once a send went through this producer. "+
							"A producer declares its required groups' queues durable, as SCSt does, and has no setting to do otherwise: remove %s from stream.bindings.%s.producer.required-groups, or drop durable-subscription: false from %s (true is the default)",
						cq.Name, c.b.group, c.ref(p.svc), c.b.group, p.b.name, c.b.name), false))
					continue
				}
				queue, diffs, fixes := queueSettingsDiff(cs, ps, rabbitPrefix(p.b))
				if len(diffs) == 0 {
					continue
				}
				out = append(out, p.keyProblem(kindRequiredGroupArgs, "producer.required-groups", fmt.Sprintf(
					"declares the queue %s of group %s with other arguments than %s, the group's consumer, declares it with: %s. Whichever of the two binds second fails at start (inequivalent arg, PRECONDITION_FAILED), the consumer's service once a send went through this producer. "+
						"A producer declares its required groups' queues with its own RabbitMQ producer properties, as SCSt does: set stream.rabbit.bindings.%s.producer %s",
					queue, c.b.group, c.ref(p.svc), strings.Join(diffs, "; "), p.b.name, strings.Join(fixes, ", ")), false))
			}
		}
	}
	return out
}

// queueSettingsDiff compares the group queue (and DLQ) that consumer
// binding cs declares with the one producer binding ps (of RabbitMQ
// prefix prefix) declares for cs's group among its required-groups: the
// queue's name, the settings that differ and what to set on the producer
// (queueArgDiffs). A partitioned consumer with instance-index-list
// declares a queue per listed index (rabbit.ConsumerQueues), all with the
// same settings: the first that ps declares is compared. Nothing when ps
// declares no queue of cs's, or either's properties are invalid (the
// binder's validator reports them).
func queueSettingsDiff(cs stream.ConsumerSpec, ps stream.ProducerSpec, prefix string) (queue string, diffs, fixes []string) {
	cq, pq, cqs, pqs, ok := matchGroupQueue(cs, ps)
	if !ok {
		return "", nil, nil
	}
	dlx := prefix + rabbit.DLXName // the producer's default
	diffs, fixes = queueArgDiffs(cs.Binding, ps.Binding, cq, pq, "", "", dlx)
	if d := slices.IndexFunc(cqs, func(q rabbit.DeclaredQueue) bool { return q.DLQ }); d >= 0 {
		// The DLQ's dlq-* arguments: compared when both declare it;
		// when only the consumer does, the producer's auto-bind-dlq
		// needs them too.
		cdlq := cqs[d]
		var pdlq rabbit.DeclaredQueue
		j := slices.IndexFunc(pqs, func(q rabbit.DeclaredQueue) bool { return q.DLQ && q.Name == cdlq.Name })
		if j >= 0 {
			pdlq = pqs[j]
		}
		if j >= 0 || pq.Args["x-dead-letter-exchange"] == nil {
			d, f := queueArgDiffs(cs.Binding, ps.Binding, cdlq, pdlq, "dlq-", "the DLQ's ", dlx)
			if j >= 0 {
				diffs = append(diffs, d...)
			}
			fixes = append(fixes, f...)
		}
	}
	return cq.Name, diffs, fixes
}

// matchGroupQueue returns the group queue that consumer binding cs
// declares (cq) and that producer binding ps declares too for cs's group
// among its required-groups (pq), with all the queues of each (with
// instance-index-list a consumer declares a queue per listed index: the
// first that ps declares). ok is false when ps declares no queue of cs's,
// or either's properties are invalid (the binder's validator reports
// them).
func matchGroupQueue(cs stream.ConsumerSpec, ps stream.ProducerSpec) (cq, pq rabbit.DeclaredQueue, cqs, pqs []rabbit.DeclaredQueue, ok bool) {
	pqs, err := rabbit.RequiredGroupQueues(ps)
	if err != nil {
		return cq, pq, nil, nil, false
	}
	cqs, err = rabbit.ConsumerQueues(cs)
	if err != nil {
		return cq, pq, nil, nil, false
	}
	for _, c := range cqs {
		if c.DLQ {
			continue
		}
		if i := slices.IndexFunc(pqs, func(q rabbit.DeclaredQueue) bool { return !q.DLQ && q.Name == c.Name }); i >= 0 {
			return c, pqs[i], cqs, pqs, true
		}
	}
	return cq, pq, nil, nil, false // not a queue this producer declares
}

// destOf is the destination of b whose exchange is k's.
func destOf(b *binding, k destKey) string {
	for _, d := range b.destinations {
		if destName(b, d) == k.name {
			return d
		}
	}
	return k.name
}

// queueArgDiffs compares the arguments a consumer binding (cons) and a
// producer binding (prod) declare one queue with: what differs, as the
// settings behind it ("dlq: true on work-in-0, no auto-bind-dlq on
// emit-out-0"), and what to set on the producer ("auto-bind-dlq: true").
// prefix is "dlq-" for the DLQ (of) whose arguments the dlq-* properties
// set; dlx is the producer's default dead-letter exchange.
func queueArgDiffs(cons, prod string, c, p rabbit.DeclaredQueue, prefix, of, dlx string) (diffs, fixes []string) {
	var keys []string
	for _, m := range []map[string]any{c.Args, p.Args} {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	// The dead-letter arguments of the group's queue are auto-bind-dlq's
	// (SCSt's; the consumer's dlq) when one side has them and the other
	// not.
	cdl, pdl := c.Args["x-dead-letter-exchange"] != nil, p.Args["x-dead-letter-exchange"] != nil
	if prefix == "" && cdl != pdl {
		if cdl {
			diffs = append(diffs, fmt.Sprintf("dlq on %s (x-dead-letter-exchange %v, x-dead-letter-routing-key %v), no auto-bind-dlq on %s", cons, c.Args["x-dead-letter-exchange"], c.Args["x-dead-letter-routing-key"], prod))
			fixes = append(fixes, "auto-bind-dlq: true")
			// The producer's defaults: <prefix>DLX and the queue's name.
			if x, _ := c.Args["x-dead-letter-exchange"].(string); x != dlx {
				fixes = append(fixes, "dead-letter-exchange: "+x)
			}
			if key, _ := c.Args["x-dead-letter-routing-key"].(string); key != c.Name {
				fixes = append(fixes, "dead-letter-routing-key: "+key)
			}
		} else {
			diffs = append(diffs, fmt.Sprintf("auto-bind-dlq on %s (x-dead-letter-exchange %v, x-dead-letter-routing-key %v), no dlq on %s", prod, p.Args["x-dead-letter-exchange"], p.Args["x-dead-letter-routing-key"], cons))
			fixes = append(fixes, "auto-bind-dlq: false (or consumer.dlq: true on "+cons+")")
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == "x-dead-letter-exchange" || k == "x-dead-letter-routing-key" })
	}
	for _, k := range keys {
		cv, cok := c.Args[k]
		pv, pok := p.Args[k]
		if cok == pok && reflect.DeepEqual(cv, pv) {
			continue
		}
		setting, ok := queueArgSettings[k]
		if !ok {
			setting = k
		}
		setting = prefix + setting
		diffs = append(diffs, fmt.Sprintf("%s (%s%s) %s on %s, %s on %s", setting, of, k, argValue(cv, cok), cons, argValue(pv, pok), prod))
		if cok {
			fixes = append(fixes, setting+": "+settingValue(k, cv))
		} else {
			fixes = append(fixes, "no "+setting)
		}
	}
	return diffs, fixes
}

// argValue is an x-argument's value as a message shows it.
func argValue(v any, ok bool) string {
	if !ok {
		return "not set"
	}
	return fmt.Sprint(v)
}

// settingValue is the value of the property that gives x-argument k the
// value v: lazy and quorum.enabled are booleans.
func settingValue(k string, v any) string {
	switch k {
	case "x-queue-mode", "x-queue-type":
		return "true"
	}
	return fmt.Sprint(v)
}
