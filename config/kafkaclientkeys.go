package config

import (
	"strings"

	bprops "github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// ignoredKafkaClientKeys removes, with a warning each at its file:line,
// the Kafka client properties that the Kafka binder accepts without
// honouring them (bprops.IgnoredKafkaClientProperty: retry.backoff.ms,
// metadata.max.age.ms, buffer.memory, enable.idempotence: true ...; the
// settings of Spring Kafka's serializers and deserializers, spring.json.*
// and spring.deserializer.*, and the (de)serializer classes of Spring
// Kafka's whose work the binder does its own way: ErrorHandlingDeserializer,
// JsonDeserializer, JsonSerializer, StringOrBytesSerializer) from
// the Kafka property maps of stream.kafka: the binder's configuration,
// consumer-properties and producer-properties, and the configuration of
// stream.kafka.default's and each binding's consumer, producer and
// consumer.dlq-producer-properties. SCSt files carry them (Java client
// tuning, or the Java default); the binder would take them without a
// word, and the warning says why they change nothing here. Nested maps
// spell dotted names ({retry: {backoff: {ms: 100}}}), and '-' and '_' read
// as '.', as the binder reads them (kafkaMap).
func ignoredKafkaClientKeys(tree map[string]any, origins map[string]string) (warnings []*stream.ConfigError) {
	kk, ok := mapKey(tree, "kafka")
	if !ok {
		return nil
	}
	kafka, ok := tree[kk].(map[string]any)
	if !ok {
		return nil
	}
	base := "stream." + kk
	visit := func(m map[string]any, path string) {
		warnings = append(warnings, ignoredInKafkaMap(m, path, "", origins)...)
	}
	// sub returns m's map at key (any spelling) and its path.
	sub := func(m map[string]any, path, key string) (map[string]any, string) {
		k, ok := mapKey(m, key)
		if !ok {
			return nil, ""
		}
		s, _ := m[k].(map[string]any)
		return s, path + "." + k
	}
	if b, p := sub(kafka, base, "binder"); b != nil {
		for _, k := range []string{"configuration", "consumer-properties", "producer-properties"} {
			if m, mp := sub(b, p, k); m != nil {
				visit(m, mp)
			}
		}
	}
	binding := func(bm map[string]any, p string) {
		for _, kind := range []string{"consumer", "producer"} {
			km, kp := sub(bm, p, kind)
			if km == nil {
				continue
			}
			if m, mp := sub(km, kp, "configuration"); m != nil {
				visit(m, mp)
			}
			if kind == "consumer" {
				if dm, dp := sub(km, kp, "dlq-producer-properties"); dm != nil {
					if m, mp := sub(dm, dp, "configuration"); m != nil {
						visit(m, mp)
					}
				}
			}
		}
	}
	if d, p := sub(kafka, base, "default"); d != nil {
		binding(d, p)
	}
	if bs, p := sub(kafka, base, "bindings"); bs != nil {
		for _, b := range sortedKeys(bs) {
			if bm, ok := bs[b].(map[string]any); ok {
				binding(bm, p+"."+b)
			}
		}
	}
	return warnings
}

// ignoredInKafkaMap removes the ignored properties of the Kafka property
// map m at path (prefix: the dotted name of m within the map), returning a
// warning for each.
func ignoredInKafkaMap(m map[string]any, path, prefix string, origins map[string]string) (warnings []*stream.ConfigError) {
	for _, k := range sortedKeys(m) {
		name := prefix + strings.NewReplacer("-", ".", "_", ".").Replace(strings.ToLower(k))
		p := path + "." + k
		if s, ok := m[k].(map[string]any); ok {
			warnings = append(warnings, ignoredInKafkaMap(s, p, name+".", origins)...)
			continue
		}
		msg, ok := bprops.IgnoredKafkaClientWarning(name, m[k])
		if !ok {
			continue
		}
		delete(m, k)
		warnings = append(warnings, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: msg})
	}
	return warnings
}
