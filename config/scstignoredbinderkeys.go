package config

import (
	"github.com/streambind/streambind/stream"
)

// ignoredBinderBindingKey is an SCSt binder's consumer or producer
// property that streambind accepts and ignores, with a warning at its
// file:line saying why: it asks for something that has no meaning here,
// so an SCSt file that sets it runs unchanged.
type ignoredBinderBindingKey struct {
	binder, kind, key string // binder type, "consumer" or "producer", squashed key
	why               string
	// when, if not nil, says which values are ignored so; the binder
	// takes (or refuses) the others.
	when func(v any) bool
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
			path := append(append([]string(nil), sec...), k.kind, k.key)
			p, v, ok := lookupSquashed(tree, path)
			if !ok || (k.when != nil && !k.when(v)) {
				continue
			}
			_, _ = takeKey(tree, path)
			warnings = append(warnings, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: "ignored: " + k.why})
		}
	}
	return warnings
}
