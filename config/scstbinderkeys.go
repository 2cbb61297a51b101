package config

import (
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/streambind/streambind/stream"
)

// binderBindingKeys are the consumer and producer properties of SCSt's
// Kafka and RabbitMQ binders (their reference's "Kafka Consumer
// Properties", "RabbitMQ Producer Properties", ...) and of streambind's
// NATS and Redis binders, by kind and binder type. Users put them in the common section
// (spring.cloud.stream.bindings.<b>.consumer.start-offset) by mistake,
// where SCSt ignores them without a word — Spring Boot binds no unknown
// field — and the app runs with the binder's default. streambind ignores
// them too, so that such a file runs as it does in SCSt, but with a
// warning that names the key's place (misplacedBinderKeys); a key that is
// also one of streambind's common keys (enable-dlq) never reaches it.
var binderBindingKeys = map[string]map[string][]string{
	"consumer": {
		"kafka": {"ack-each-record", "ack-mode", "admin", "auto-commit-offset", "auto-commit-on-error",
			"auto-rebalance-enabled", "common-error-handler-bean-name", "configuration", "converter-bean-name",
			"destination-is-pattern", "dlq-name", "dlq-partitions", "dlq-producer-properties", "enable-dlq",
			"idle-event-interval", "poll-timeout", "reactive-at-most-once", "reactive-auto-commit",
			"reset-offsets", "standard-headers", "start-offset", "topic", "transaction-manager",
			"tx-commit-recovered",
			// streambind's own (binder/kafka: consumerKeyTable).
			"max-wait", "max-bytes", "queue-capacity", "batch-size", "redelivery-delay", "ordering"},
		"rabbit": append([]string{"acknowledge-mode", "anonymous-group-prefix", "consumer-tag-prefix",
			"container-type", "durable-subscription", "exclusive", "failed-declaration-retry-interval",
			"frame-max-headroom", "max-concurrency", "missing-queues-fatal", "prefetch",
			"queue-declaration-retries", "recovery-interval", "requeue-rejected", "republish-delivery-mode",
			"republish-delivey-mode", // SCSt's spelling (RabbitConsumerProperties.republishDeliveyMode)
			"republish-to-dlq", "tx-size",
			// streambind's own (binder/rabbit).
			"batch-size", "redelivery-delay"}, rabbitQueueKeys...),
		// streambind's own binders (binder/nats, binder/redis: consumerKeys).
		"nats": {"ack-wait", "max-deliver", "max-deliveries", "max-ack-pending", "prefetch", "redelivery-delay",
			"dlq-name", "start-offset", "inactive-threshold", "batch-size", "partition-count", "dlq-attempts"},
		"redis": {"start-offset", "claim-min-idle", "claim-interval", "max-deliveries", "max-deliver",
			"redelivery-delay", "prefetch", "batch-size", "dlq-name", "partition-count"},
	},
	"producer": {
		"nats":  {"send-timeout", "send-attempts"},
		"redis": {"send-attempts", "batch-size", "wait-replicas", "wait-timeout"},
		"kafka": {"admin", "allow-non-transactional", "batch-timeout", "buffer-size", "close-timeout",
			"compression-type", "configuration", "header-patterns", "message-key-expression",
			"record-metadata-channel", "send-timeout-expression", "sync", "topic", "transaction-manager",
			"use-topic-header",
			// streambind's own (binder/kafka: producerKeyTable).
			"batch-timeout", "linger", "batch-size", "batch-bytes", "compression", "write-timeout", "send-attempts"},
		"rabbit": append([]string{"batch-buffer-limit", "batch-size", "batch-timeout", "batching-enabled",
			"compress", "confirm-ack-channel", "delay-expression", "delivery-mode", "producer-type",
			"routing-key", "routing-key-expression", "use-confirm-header",
			// streambind's own (binder/rabbit).
			"mandatory"}, rabbitQueueKeys...),
	},
}

// streambindOnly are the keys of binderBindingKeys (squashed) that no
// SCSt binder has: streambind's own Kafka and RabbitMQ properties, and
// those of its NATS and Redis binders, which SCSt files do not hold.
var streambindOnly = func() map[string]bool {
	out := map[string]bool{}
	for _, k := range []string{"max-wait", "max-bytes", "queue-capacity", "redelivery-delay", "ordering",
		"batch-bytes", "compression", "write-timeout", "mandatory"} {
		out[squash(k)] = true
	}
	return out
}()

// rabbitQueueKeys are the RabbitMQ binder's properties of the exchange,
// the queues and the DLQ, which its consumers and producers (for required
// groups) both take.
var rabbitQueueKeys = []string{"auto-bind-dlq", "bind-queue", "binding-routing-key",
	"binding-routing-key-delimiter", "dead-letter-exchange", "dead-letter-exchange-type",
	"dead-letter-queue-name", "dead-letter-routing-key", "declare-dlx", "declare-exchange",
	"delayed-exchange", "dlq-binding-arguments", "dlq-dead-letter-exchange", "dlq-dead-letter-routing-key",
	"dlq-expires", "dlq-lazy", "dlq-max-length", "dlq-max-length-bytes", "dlq-max-priority",
	"dlq-overflow-behavior", "dlq-quorum", "dlq-single-active-consumer", "dlq-ttl", "exchange-auto-delete",
	"exchange-durable", "exchange-type", "expires", "header-patterns", "lazy", "max-length",
	"max-length-bytes", "max-priority", "overflow-behavior", "prefix", "queue-binding-arguments",
	"queue-name-group-only", "quorum", "single-active-consumer", "transacted", "ttl"}

// misplacedBinderKeys removes, with a warning each, the binder properties
// of binderBindingKeys found among the common consumer or producer
// properties of stream.default or a stream.bindings.<name>: SCSt ignores
// them there (see binderBindingKeys), and the warning says where they
// take effect.
func misplacedBinderKeys(tree map[string]any, origins map[string]string) (warnings []*stream.ConfigError) {
	common := map[string]*schema{
		"consumer": schemaOf(reflect.TypeFor[stream.ConsumerConfig]()),
		"producer": schemaOf(reflect.TypeFor[stream.ProducerConfig]()),
	}
	type section struct {
		path    []string
		binding string
	}
	var sections []section
	if _, ok := tree["default"].(map[string]any); ok {
		sections = append(sections, section{[]string{"default"}, ""})
	}
	if bs, ok := tree["bindings"].(map[string]any); ok {
		for _, b := range sortedKeys(bs) {
			sections = append(sections, section{[]string{"bindings", b}, b})
		}
	}
	for _, sec := range sections {
		for _, kind := range []string{"consumer", "producer"} {
			_, v, _ := lookupSquashed(tree, append(append([]string(nil), sec.path...), kind))
			props, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for _, k := range sortedKeys(props) {
				if common[kind].field(k) != nil {
					continue // a streambind key (enable-dlq: consumer.dlq)
				}
				var types []string
				for typ, keys := range binderBindingKeys[kind] {
					for _, bk := range keys {
						if squash(bk) == squash(k) {
							types = append(types, typ)
						}
					}
				}
				if len(types) == 0 {
					continue
				}
				sort.Strings(types)
				p, _ := takeKey(tree, append(append([]string(nil), sec.path...), kind, squash(k)))
				at := "default"
				if sec.binding != "" {
					at = "bindings." + sec.binding
				}
				typ := types[0]
				if len(types) > 1 {
					typ = "<" + strings.Join(types, "|") + ">"
				}
				msg := "ignored: " + kebab(k) + " is a binder " + kind + " property (of binder type " + strings.Join(types, ", ") +
					"), which SCSt ignores here too; to apply it, set spring.cloud.stream." + typ + "." + at + "." + kind + "." + kebab(k)
				if streambindOnly[squash(k)] {
					// Not an SCSt key: written in a streambind file.
					msg = "ignored: " + kebab(k) + " is a binder " + kind + " property (of binder type " + strings.Join(types, ", ") +
						"), not a common one; to apply it, set stream." + typ + "." + at + "." + kind + "." + kebab(k)
					if at != "default" {
						msg += " (or stream." + typ + ".default." + kind + "." + kebab(k) + " for every binding of the type)"
					}
				}
				warnings = append(warnings, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: msg})
			}
		}
	}
	return warnings
}

// binderLevelToo are the keys of binderBindingKeys that the binder type
// also reads in its binder section (stream.kafka.binder.configuration
// is the Kafka client properties of every binding; close-timeout the
// binder's own; transaction-manager it refuses there with its reason,
// no transactions): left to the binder.
var binderLevelToo = map[string]map[string]bool{
	"kafka": {"configuration": true, "closetimeout": true, "transactionmanager": true},
}

// bootSpellings are keys of Spring Boot's connection namespaces written
// in a binder section (stream.rabbit.binder.requested-heartbeat, as in
// spring.rabbitmq), where the binder spells them otherwise: binder type →
// squashed key → the binder's key and what to know (see bootRabbit).
var bootSpellings = map[string]map[string][2]string{
	"rabbit": {
		"requestedheartbeat": {"heartbeat", "Spring Boot's spring.rabbitmq.requested-heartbeat; a duration (30s): a bare number is milliseconds here, seconds in Spring Boot"},
		// host is the binder's too (addresses: host or host:port).
		"port": {"addresses", "Spring Boot's spring.rabbitmq.port: the binder takes host:port in addresses (or host)"},
	},
}

// binderSectionKeys removes, with an error each, the keys of a binder
// section (stream.<type>.binder) that belong elsewhere: a consumer or
// producer property of the type (binderBindingKeys: prefetch is set per
// binding, stream.rabbit.bindings.<b>.consumer.prefetch, not for the
// binder), which the binder would refuse as an unknown key without
// saying where it goes, and a Spring Boot spelling of one of the binder's
// keys (bootSpellings), with a did-you-mean. SCSt's binder ignores such
// keys without a word (Spring Boot binds no unknown field); streambind
// refuses unknown binder keys, as before, but says where they belong.
// The environment of a binder declared under stream.binders (SCSt's
// multi-binder form) is a binder section too, in the binder's own keys
// and in SCSt's spring.cloud.stream.<type>.binder.* (nested, dotted or
// both): the same keys are refused there the same way.
func binderSectionKeys(tree map[string]any, origins map[string]string) (errs []*stream.ConfigError) {
	check := func(ltyp string, m map[string]any, k, name, p string) {
		msg := binderKeyPlace(ltyp, name)
		if msg == "" {
			return
		}
		delete(m, k)
		errs = append(errs, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: msg})
	}
	for _, ltyp := range []string{"kafka", "nats", "rabbit", "redis"} {
		if typ, ok := mapKey(tree, ltyp); ok {
			section, _ := tree[typ].(map[string]any)
			if binder, ok := mapAt(section, "binder"); ok {
				base, _, _ := lookupSquashed(tree, []string{typ, "binder"})
				for _, k := range sortedKeys(binder) {
					check(ltyp, binder, k, k, base+"."+k)
				}
			}
		}
		for _, be := range binderEnvironments(tree, ltyp) {
			walkBinderKeys(be.env, nil, be.base, func(m map[string]any, k, name, p string) { check(ltyp, m, k, name, p) })
			walkBinderKeys(be.env, []string{"spring", "cloud", "stream", ltyp, "binder"}, be.base, func(m map[string]any, k, name, p string) { check(ltyp, m, k, name, p) })
		}
	}
	return errs
}

// walkBinderKeys calls visit for each key of the binder section at path
// want below m (at key path base): nested maps, dotted keys or a mix
// ("spring.cloud.stream": {rabbit.binder.prefetch: 1}). visit gets the
// map that holds the key, the key as it is there, the binder key it names
// and its key path. Keys that hold dots below the section are skipped.
func walkBinderKeys(m map[string]any, want []string, base string, visit func(m map[string]any, k, name, p string)) {
	for _, k := range sortedKeys(m) {
		segs := strings.Split(k, ".")
		if len(want) == 0 {
			if len(segs) == 1 {
				visit(m, k, k, base+"."+k)
			}
			continue
		}
		n := min(len(segs), len(want))
		match := true
		for i := range n {
			if squash(segs[i]) != squash(want[i]) {
				match = false
				break
			}
		}
		switch {
		case !match:
		case len(segs) <= len(want):
			if sub, ok := m[k].(map[string]any); ok {
				walkBinderKeys(sub, want[len(segs):], base+"."+k, visit)
			}
		case len(segs) == len(want)+1:
			visit(m, k, segs[len(want)], base+"."+k)
		}
	}
}

// binderKeyPlace returns why key name of a binder section of type ltyp
// belongs elsewhere (see binderSectionKeys), or "" when it may be there.
func binderKeyPlace(ltyp, name string) string {
	sk := squash(name)
	if strings.Contains(name, ".") || binderLevelToo[ltyp][sk] {
		return ""
	}
	if boot, ok := bootSpellings[ltyp][sk]; ok {
		return "unknown key; did you mean " + boot[0] + "? (" + kebab(name) + " is " + boot[1] + ")"
	}
	var kinds []string
	for _, kind := range []string{"consumer", "producer"} {
		for _, bk := range binderBindingKeys[kind][ltyp] {
			if squash(bk) == sk {
				kinds = append(kinds, kind)
				break
			}
		}
	}
	if len(kinds) == 0 {
		return ""
	}
	key := kebab(name)
	var at, dflt []string
	for _, kind := range kinds {
		at = append(at, "stream."+ltyp+".bindings.<binding>."+kind+"."+key)
		dflt = append(dflt, "stream."+ltyp+".default."+kind+"."+key)
	}
	return "not a binder property: " + key + " is a " + strings.Join(kinds, " and ") + " property of the " + ltyp +
		" binder: set it under " + strings.Join(at, " or ") + " (or " + strings.Join(dflt, " or ") + " for every binding)"
}

// commonKeysInBinderSections removes, with a warning each, the common
// binding properties found in a binder type's binding sections
// (stream.<type>.default.<kind> and stream.<type>.bindings.<b>.<kind>):
// a common consumer or producer property (max-attempts, concurrency,
// use-native-decoding, required-groups, also SCSt's common keys that
// streambind reads otherwise or not at all: partitioned, multiplex, ...)
// or a property of the binding itself (group, destination, binder,
// content-type) written among the binder's properties. SCSt's binder
// property classes (KafkaConsumerProperties, RabbitProducerProperties, ...)
// have no such fields, and Spring Boot binds no unknown field, so SCSt
// ignores them there without a word; streambind ignores them too, so that
// such a file runs as it does in SCSt, with a warning naming the key
// where it takes effect: the reverse of misplacedBinderKeys. Only the
// built-in binder types are looked at (a binder type registered in code
// may read any key), and a key the type's binder reads itself
// (binderBindingKeys) or the loader lifts (enable-dlq, auto-bind-dlq:
// liftDLQAliases) is left alone; any other key is left to the binder,
// which refuses it as unknown.
func commonKeysInBinderSections(tree map[string]any, origins map[string]string) (warnings []*stream.ConfigError) {
	cfg := configSchema()
	binding := schemaOf(reflect.TypeFor[stream.BindingConfig]())
	common := map[string]*schema{
		"consumer": schemaOf(reflect.TypeFor[stream.ConsumerConfig]()),
		"producer": schemaOf(reflect.TypeFor[stream.ProducerConfig]()),
	}
	// SCSt's common keys that stream.ConsumerConfig/ProducerConfig have
	// no field for (scstOnlyBindingKeys, producer.partitioned).
	scstCommon := map[string]map[string]string{"consumer": {}, "producer": {"partitioned": "partitioned"}}
	for _, k := range scstOnlyBindingKeys {
		if k.kind != "" {
			scstCommon[k.kind][k.key] = scstKebab[k.key]
		}
	}
	for _, t := range sortedKeys(tree) {
		if cfg.field(t) != nil || !slices.Contains(builtinBinderTypes, strings.ToLower(t)) {
			continue
		}
		typ := strings.ToLower(t)
		sec, ok := tree[t].(map[string]any)
		if !ok {
			continue
		}
		type place struct {
			path []string // below stream
			at   string   // "default" or "bindings.<b>"
		}
		var places []place
		if k, ok := mapKey(sec, "default"); ok {
			places = append(places, place{[]string{t, k}, "default"})
		}
		if k, ok := mapKey(sec, "bindings"); ok {
			bs, _ := sec[k].(map[string]any)
			for _, b := range sortedKeys(bs) {
				places = append(places, place{[]string{t, k, b}, "bindings." + b})
			}
		}
		for _, pl := range places {
			for _, kind := range []string{"consumer", "producer"} {
				_, v, _ := lookupSquashed(tree, append(append([]string(nil), pl.path...), kind))
				props, ok := v.(map[string]any)
				if !ok {
					continue
				}
				for _, k := range sortedKeys(props) {
					sk := squash(k)
					if dlqAliases[sk] || slices.ContainsFunc(binderBindingKeys[kind][typ], func(bk string) bool { return squash(bk) == sk }) {
						continue
					}
					// where names the key's place in both forms: the loader
					// does not keep whether the user wrote spring.cloud.stream.*
					// (camelCase) or stream.* (kebab-case).
					where := func(rest string) string {
						segs := strings.Split(rest, ".")
						segs[len(segs)-1] = camel(segs[len(segs)-1])
						return "stream." + pl.at + "." + rest + " (spring.cloud.stream." + pl.at + "." + strings.Join(segs, ".") + " in SCSt's form)"
					}
					var msg, name string
					if f := common[kind].field(k); f != nil {
						name = f.key
						msg = "ignored: " + f.key + " is a common " + kind + " property, not one of the " + typ + " binder's, which SCSt ignores here too; to apply it, set " + where(kind+"."+f.key)
					} else if n, ok := scstCommon[kind][sk]; ok {
						name = n
						msg = "ignored: " + n + " is a common " + kind + " property of SCSt, not one of the " + typ + " binder's, which SCSt ignores here too; its place is " + where(kind+"."+n)
					} else if f := binding.field(k); f != nil && f.key != "consumer" && f.key != "producer" {
						name = f.key
						msg = "ignored: " + f.key + " is a property of the binding, not one of the " + typ + " binder's " + kind + " properties, which SCSt ignores here too; to apply it, set " + where(f.key)
					} else {
						continue
					}
					p, _ := takeKey(tree, append(append([]string(nil), pl.path...), kind, k))
					origin := originOf(origins, p)
					// The key in its canonical spelling, also when a
					// variable set it without dashes (..._USENATIVEDECODING).
					if i := strings.LastIndexByte(p, '.'); i >= 0 {
						p = p[:i+1] + name
					}
					warnings = append(warnings, &stream.ConfigError{Path: p, Origin: origin, Msg: msg})
				}
			}
		}
	}
	return warnings
}

// scstKebab spells the squashed keys of scstOnlyBindingKeys.
var scstKebab = map[string]string{
	"multiplex": "multiplex", "retrytemplatename": "retry-template-name",
	"partitionselectorname": "partition-selector-name", "errorchannelenabled": "error-channel-enabled",
	"dynamicpartitionupdatesenabled": "dynamic-partition-updates-enabled", "splitmode": "split-mode",
}
