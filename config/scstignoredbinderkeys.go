package config

import (
	"slices"

	"github.com/streambind/streambind/stream"
)

// ignoredBinderBindingKey is an SCSt binder's consumer or producer
// property that streambind accepts and ignores, with a warning at its
// file:line saying why: it asks for something that has no meaning here,
// so an SCSt file that sets it runs unchanged.
type ignoredBinderBindingKey struct {
	binder, kind, key string // binder type, "consumer" or "producer", squashed key
	// in, if not nil, is the squashed path below kind to the map that
	// holds key (the Kafka consumer's dlqproducerproperties); effective
	// then reads that map's properties.
	in  []string
	why string
	// when, if not nil, says which values are ignored so; the binder
	// takes (or refuses) the others.
	when func(v any) bool
	// effective, if not nil, says from a binding's other properties of
	// the same kind (prop: its own, else stream.<type>.default's, merged
	// as SCSt and the binder merge them) whether the key takes effect on
	// it after all: it is then left to the binder, which takes or refuses
	// it.
	effective func(prop func(key string) (any, bool)) bool
}

var ignoredBinderBindingKeys = []ignoredBinderBindingKey{
	{binder: "kafka", kind: "consumer", key: "trustedpackages",
		why: "SCSt's Kafka binder hands it to Spring Kafka's JSON header mapper, which decodes headers into the Java classes of those packages; streambind does no class-based header decoding (headers are text), so there is nothing to trust"},
	{binder: "kafka", kind: "consumer", key: "consumerpriority",
		why: "consumer priority is RabbitMQ's (the x-priority consumer argument); Kafka has no such thing, so it changes nothing on a Kafka binding"},
	// SCSt 4's Kafka binder applies it to pollable consumers
	// (PollableMessageSource) only; a message-driven binding ignores it
	// there too. true is what the binder does, and it takes it silently.
	{binder: "kafka", kind: "consumer", key: "autocommitonerror", when: isBool(false),
		why: "false is not honoured: SCSt applies auto-commit-on-error to pollable consumers only, and streambind has none; as SCSt's message-driven consumer, the binder commits a message that failed every attempt once it was dead-lettered (enable-dlq) or dropped, so a failure does not stop the partition. To see failed messages again, set enable-dlq: true and replay the dead letters"},
	// SCSt's Kafka binder evaluates it only with sync: true (how long a
	// send waits for the broker's acknowledgement); without sync it has
	// no effect there either. With sync: true the binder refuses it,
	// saying what bounds a send here.
	{binder: "kafka", kind: "producer", key: "sendtimeoutexpression",
		effective: func(prop func(string) (any, bool)) bool { v, ok := prop("sync"); return ok && isBool(true)(v) },
		why:       "SCSt evaluates it only with sync: true (how long a send waits for the broker's acknowledgement), and sync is not true here, so it has no effect in SCSt either; every send here waits for the acknowledgement, bounded by write-timeout × send-attempts"},
	// The same key of the dead-letter producer (SCSt's
	// dlq-producer-properties is a KafkaProducerProperties), with that
	// map's sync.
	{binder: "kafka", kind: "consumer", in: []string{"dlqproducerproperties"}, key: "sendtimeoutexpression",
		effective: func(prop func(string) (any, bool)) bool { v, ok := prop("sync"); return ok && isBool(true)(v) },
		why:       "SCSt evaluates it only with sync: true (how long a send waits for the broker's acknowledgement), and dlq-producer-properties' sync is not true here, so it has no effect in SCSt either; every dead letter here waits for the acknowledgement, bounded by the dead-letter producer's write-timeout × send-attempts"},
	{binder: "rabbit", kind: "consumer", key: "consumerpriority",
		why: "the RabbitMQ binder does not set the x-priority consumer argument: every consumer of a queue has the default priority and the broker delivers round-robin among them; for one active consumer at a time set single-active-consumer: true"},
}

// ignoredBinderKeys removes ignoredBinderBindingKeys from stream.<type>.default
// and every stream.<type>.bindings.<name>, with a warning each.
func ignoredBinderKeys(tree map[string]any, origins map[string]string) (warnings []*stream.ConfigError) {
	for _, k := range ignoredBinderBindingKeys {
		var sections [][]string
		if _, _, ok := lookupSquashed(tree, []string{k.binder, "default"}); ok {
			sections = append(sections, []string{k.binder, "default"})
		}
		if p, v, ok := lookupSquashed(tree, []string{k.binder, "bindings"}); ok && p != "" {
			if bs, ok := v.(map[string]any); ok {
				for _, b := range sortedKeys(bs) {
					sections = append(sections, []string{k.binder, "bindings", b})
				}
			}
		}
		for _, sec := range sections {
			path := k.path(sec, k.key)
			p, v, ok := lookupSquashed(tree, path)
			if !ok || (k.when != nil && !k.when(v)) {
				continue
			}
			if k.effective != nil && takesEffect(tree, k, sec, sections) {
				continue
			}
			_, _ = takeKey(tree, path)
			warnings = append(warnings, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: "ignored: " + k.why})
		}
	}
	return warnings
}

// takesEffect tells whether k, set in section sec of sections (the
// binder's default and its bindings), takes effect on a binding after all
// (k.effective): on sec's own binding, its properties over the default's;
// for the default section, on the default alone or on a binding listed
// that inherits k (does not set it) and whose properties make it take
// effect.
func takesEffect(tree map[string]any, k ignoredBinderBindingKey, sec []string, sections [][]string) bool {
	dflt := []string{k.binder, "default"}
	prop := func(own []string) func(string) (any, bool) {
		return func(key string) (any, bool) {
			if _, v, ok := lookupSquashed(tree, k.path(own, key)); ok {
				return v, true
			}
			_, v, ok := lookupSquashed(tree, k.path(dflt, key))
			return v, ok
		}
	}
	if !slices.Equal(sec, dflt) {
		return k.effective(prop(sec))
	}
	if k.effective(prop(dflt)) {
		return true
	}
	for _, b := range sections {
		if slices.Equal(b, dflt) {
			continue
		}
		if _, _, own := lookupSquashed(tree, k.path(b, k.key)); !own && k.effective(prop(b)) {
			return true
		}
	}
	return false
}

// path is the squashed path of key in k's map of section sec
// (stream.<type>.default or a binding's): sec, kind, in, key.
func (k ignoredBinderBindingKey) path(sec []string, key string) []string {
	p := append(append([]string(nil), sec...), k.kind)
	return append(append(p, k.in...), key)
}
