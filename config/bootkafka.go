package config

import (
	"fmt"
	"strings"

	bprops "github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Spring Boot's spring.kafka namespace, as SCSt's Kafka binder reads it:
// Boot's KafkaProperties are the defaults under the binder's own
// configuration. Each key that corresponds to a Kafka client property the
// binder honours becomes that property, in the binder's configuration,
// consumer-properties or producer-properties map (the binder then checks
// its value, and refuses by name what kafka-go cannot do); the binder's
// and SCSt's keys (stream.kafka.binder.*) win over them, property by
// property. Keys of Spring Kafka features the binder does not use
// (listener containers, KafkaTemplate, admin, Kafka Streams, retry
// topics) are ignored with a warning; keys that would change how the
// client connects or delivers, and cannot be honoured, are errors.

// bootKafkaProp maps a key of spring.kafka.consumer / spring.kafka.producer
// (squashed) to the Kafka client property it stands for.
type bootKafkaProp struct {
	prop string
	size bool // a Spring DataSize (10KB): converted to bytes
}

var bootKafkaConsumer = map[string]bootKafkaProp{
	"maxpollrecords":    {prop: "max.poll.records"},
	"fetchminsize":      {prop: "fetch.min.bytes", size: true},
	"fetchmaxwait":      {prop: "fetch.max.wait.ms"},
	"heartbeatinterval": {prop: "heartbeat.interval.ms"},
	"maxpollinterval":   {prop: "max.poll.interval.ms"},
	"autooffsetreset":   {prop: "auto.offset.reset"},
	"isolationlevel":    {prop: "isolation.level"},
	"enableautocommit":  {prop: "enable.auto.commit"},
	"keydeserializer":   {prop: "key.deserializer"},
	"valuedeserializer": {prop: "value.deserializer"},
}

var bootKafkaProducer = map[string]bootKafkaProp{
	"acks":            {prop: "acks"},
	"batchsize":       {prop: "batch.size", size: true},
	"compressiontype": {prop: "compression.type"},
	"retries":         {prop: "retries"},
	"keyserializer":   {prop: "key.serializer"},
	"valueserializer": {prop: "value.serializer"},
}

// bootKafkaSSL maps spring.kafka.ssl.<key> (squashed) to the Kafka client
// property. The passwords are mapped too: the binder refuses them with
// the reason (PEM files only).
var bootKafkaSSL = map[string]string{
	"keystorelocation":   "ssl.keystore.location",
	"keystoretype":       "ssl.keystore.type",
	"keystorepassword":   "ssl.keystore.password",
	"truststorelocation": "ssl.truststore.location",
	"truststoretype":     "ssl.truststore.type",
	"truststorepassword": "ssl.truststore.password",
	"keypassword":        "ssl.key.password",
	"protocol":           "ssl.protocol",
}

// bootKafkaSSLKeys are the keys of Spring Boot's spring.kafka.ssl (those
// of bootKafkaSSL and those the binder refuses), as did-you-mean
// candidates.
var bootKafkaSSLKeys = []string{"key-store-location", "key-store-type", "key-store-password", "trust-store-location",
	"trust-store-type", "trust-store-password", "key-password", "protocol", "key-store-key", "key-store-certificate-chain",
	"trust-store-certificates", "bundle"}

// bootKafkaUnused says why keys of Spring Kafka features that the binder
// does not use are ignored (a warning).
var bootKafkaUnused = map[string]string{
	"listener": "Spring Kafka's listener containers are not used: consumers are configured per binding (stream.bindings.<b>.consumer, stream.kafka.bindings.<b>.consumer)",
	"template": "Spring Kafka's KafkaTemplate is not used: producers are configured per binding (stream.bindings.<b>.producer, stream.kafka.bindings.<b>.producer)",
	"admin":    "Spring Kafka's KafkaAdmin is not used: the binder provisions topics itself (stream.kafka.binder.auto-create-topics, replication-factor, min-partition-count)",
	"streams":  "Kafka Streams is not supported",
	"retry":    "Spring Kafka's retry topics are not used: set consumer.retry-topics on the binding",
	"health":   "the binder's health is configured under stream.kafka.binder (health-interval, health-timeout)",
}

// kafkaConn is spring.kafka translated into the Kafka binder's keys.
type kafkaConn struct {
	keys map[string]any    // binder key → value (brokers, client-id)
	from map[string]string // binder key → the key path it came from
	// maps: configuration, consumer-properties, producer-properties →
	// Kafka property → value; mapFrom: map + "\x00" + property → key path.
	maps           map[string]map[string]any
	mapFrom        map[string]string
	warnings, errs []*stream.ConfigError
}

// kafkaConnection translates a spring.kafka map (at key path prefix) into
// the Kafka binder's keys.
func kafkaConnection(kafka map[string]any, prefix string, origins map[string]string) *kafkaConn {
	kc := &kafkaConn{keys: map[string]any{}, from: map[string]string{}, maps: map[string]map[string]any{}, mapFrom: map[string]string{}}
	fail := func(path, format string, args ...any) {
		kc.errs = append(kc.errs, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: fmt.Sprintf(format, args...)})
	}
	ignore := func(v any, path, why string) {
		for _, leaf := range leafPaths(v, path) {
			kc.warnings = append(kc.warnings, &stream.ConfigError{Path: leaf, Origin: originOf(origins, leaf), Msg: "ignored: " + why})
		}
	}
	// A property set both by a typed key and under properties: the typed
	// key wins, as in Spring Boot (it is applied after properties).
	prop := func(m, name string, v any, from string) {
		// The binder's rule for the properties it accepts without
		// honouring them (Spring Kafka's serializer settings and
		// classes, the Java client's own tuning), as for its own maps.
		if msg, ok := bprops.IgnoredKafkaClientWarning(name, v); ok {
			kc.warnings = append(kc.warnings, &stream.ConfigError{Path: from, Origin: originOf(origins, from), Msg: msg})
			return
		}
		if kc.maps[m] == nil {
			kc.maps[m] = map[string]any{}
		}
		kc.maps[m][name] = v
		kc.mapFrom[m+"\x00"+name] = from
	}
	props := func(m string, v any, path string) {
		sub, ok := v.(map[string]any)
		if !ok {
			fail(path, "expected a map of Kafka client properties (max.poll.records: 100)")
			return
		}
		for _, leaf := range kafkaLeaves(sub, "") {
			if _, typed := kc.maps[m][leaf.name]; !typed {
				prop(m, leaf.name, leaf.v, path+"."+leaf.path)
			}
		}
	}
	typed := func(side map[string]bootKafkaProp, m, sideName string, v any, path string) {
		sub, ok := v.(map[string]any)
		if !ok {
			fail(path, "expected a map")
			return
		}
		for _, k := range sortedKeys(sub) {
			p := path + "." + k
			sk := squash(k)
			switch bp, known := side[sk]; {
			case known:
				x := sub[k]
				if bp.size {
					n, err := dataSize(x)
					if err != nil {
						fail(p, "%v", err)
						continue
					}
					x = n
				}
				prop(m, bp.prop, x, p)
			case sk == "properties":
			case sk == "groupid":
				ignore(sub[k], p, "the consumer group is the binding's group (stream.bindings.<b>.group), as in SCSt")
			case sk == "clientid":
				ignore(sub[k], p, "the binder's connections share one client id: set spring.kafka.client-id")
			case sk == "autocommitinterval":
				ignore(sub[k], p, "the binder commits offsets itself, after each message is handled (at least once)")
			case sk == "transactionidprefix":
				fail(p, "not supported: exactly-once transactions are not supported (kafka-go has no transactional producer); the binder delivers at least once, and every record carries an id header for de-duplication")
			case sk == "bootstrapservers" || sk == "security" || sk == "ssl":
				fail(p, "not supported: a connection setting of the %s only; the binder's connections share one: set it at spring.kafka.%s (for another cluster, declare another binder under stream.binders)", sideName, k)
			default:
				fail(p, "not supported: the Kafka binder reads %s, properties, group-id and client-id (ignored) of spring.kafka.%s; give other Kafka client properties under spring.kafka.%s.properties", strings.Join(bootTypedNames(side), ", "), sideName, sideName)
			}
		}
		// properties last: a typed key wins.
		if pk, ok := mapKey(sub, "properties"); ok {
			props(m, sub[pk], path+"."+pk)
		}
	}

	for _, k := range sortedKeys(kafka) {
		path := prefix + "." + k
		v := kafka[k]
		switch sk := squash(k); sk {
		case "bootstrapservers":
			if v != nil {
				kc.keys["brokers"], kc.from["brokers"] = v, path
			}
		case "clientid":
			if v != nil {
				kc.keys["client-id"], kc.from["client-id"] = v, path
			}
		case "consumer":
			typed(bootKafkaConsumer, "consumer-properties", "consumer", v, path)
		case "producer":
			typed(bootKafkaProducer, "producer-properties", "producer", v, path)
		case "security":
			sub, ok := v.(map[string]any)
			if !ok {
				fail(path, "expected a map (protocol: SASL_SSL)")
				continue
			}
			for _, k2 := range sortedKeys(sub) {
				if squash(k2) == "protocol" {
					prop("configuration", "security.protocol", sub[k2], path+"."+k2)
				} else {
					fail(path+"."+k2, "not supported: of spring.kafka.security only protocol is read")
				}
			}
		case "ssl":
			sub, ok := v.(map[string]any)
			if !ok {
				fail(path, "expected a map (trust-store-location: file:/etc/kafka/ca.pem)")
				continue
			}
			for _, k2 := range sortedKeys(sub) {
				p2 := path + "." + k2
				name, known := bootKafkaSSL[squash(k2)]
				if !known {
					const reads = "the Kafka binder reads PEM files: key-store-location, key-store-type, trust-store-location, trust-store-type and protocol of spring.kafka.ssl"
					// A misspelt key the binder reads gets a did-you-mean;
					// Spring Boot's other ssl keys (key-store-key ...) are
					// candidates too, so that they are not taken for typos.
					if sug := bprops.Suggest(k2, bootKafkaSSLKeys); sug != "" {
						if _, ok := bootKafkaSSL[squash(sug)]; ok {
							fail(p2, "unknown key; did you mean %s? (%s)", sug, reads)
							continue
						}
					}
					fail(p2, "not supported: %s", reads)
					continue
				}
				x := sub[k2]
				if strings.HasSuffix(name, ".location") {
					s, err := toString(x)
					if err != nil {
						fail(p2, "%v", err)
						continue
					}
					loc, ok := strings.CutPrefix(strings.TrimSpace(s), "file:")
					if strings.HasPrefix(loc, "classpath:") || strings.HasPrefix(loc, "classpath*:") {
						// As the binders say it for their own file keys.
						fail(p2, "%q: a classpath: resource cannot be read by a Go service; give a file path (a \"file:\" prefix is dropped, as in Spring)", s)
						continue
					}
					if ok {
						x = loc
					}
				}
				prop("configuration", name, x, p2)
			}
		case "jaas":
			sub, _ := v.(map[string]any)
			if ek, ok := mapKey(sub, "enabled"); ok {
				if b, err := toBool(sub[ek]); err == nil && !b {
					continue // JAAS off: nothing to honour
				}
			}
			for _, leaf := range leafPaths(v, path) {
				fail(leaf, "not supported: give the JAAS configuration as the Kafka client property spring.kafka.properties.sasl.jaas.config (PLAIN or SCRAM), or under stream.kafka.binder.jaas")
			}
		default:
			if why, ok := bootKafkaUnused[sk]; ok {
				ignore(v, path, why)
				continue
			}
			if sk == "properties" {
				continue
			}
			ignore(v, path, "not a key of spring.kafka that the Kafka binder reads (bootstrap-servers, client-id, properties, consumer, producer, security.protocol, ssl)")
		}
	}
	// properties last: a typed key (security.protocol, ssl.*) wins.
	if pk, ok := mapKey(kafka, "properties"); ok {
		props("configuration", kafka[pk], prefix+"."+pk)
	}
	return kc
}

func bootTypedNames(side map[string]bootKafkaProp) []string {
	names := make([]string, 0, len(side))
	for _, n := range []string{"max-poll-records", "fetch-min-size", "fetch-max-wait", "heartbeat-interval", "max-poll-interval",
		"auto-offset-reset", "isolation-level", "enable-auto-commit", "key-deserializer", "value-deserializer",
		"acks", "batch-size", "compression-type", "retries", "key-serializer", "value-serializer"} {
		if _, ok := side[squash(n)]; ok {
			names = append(names, n)
		}
	}
	return names
}

// kafkaLeaf is one Kafka client property of a properties map.
type kafkaLeaf struct {
	name string // the dotted property name, lower case
	path string // its key path below the map
	v    any
}

// kafkaLeaves flattens a properties map: nested maps ({max: {poll:
// {records: 5}}}) spell dotted names, as in Spring Boot.
func kafkaLeaves(m map[string]any, prefix string) []kafkaLeaf {
	var out []kafkaLeaf
	for _, k := range sortedKeys(m) {
		name := strings.ToLower(k)
		if prefix != "" {
			name = prefix + "." + name
		}
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			for _, l := range kafkaLeaves(sub, name) {
				l.path = k + "." + l.path
				out = append(out, l)
			}
			continue
		}
		out = append(out, kafkaLeaf{name: name, path: k, v: m[k]})
	}
	return out
}

// dataSize reads a Spring DataSize (bprops.DataSize): a number of bytes, or
// a number with B, KB, MB, GB or TB.
func dataSize(v any) (int64, error) {
	s, err := toString(v)
	if err != nil {
		return 0, err
	}
	return bprops.DataSize(s)
}

// kafkaEnvironments rewrites Spring Boot's typed spring.kafka keys in the
// environment of every binder declared with type kafka into the forms the
// Kafka binder reads there (spring.kafka.bootstrap-servers, client-id,
// properties, consumer.properties, producer.properties), by the rules of
// the top-level spring.kafka (kafkaConnection): spring.kafka.consumer.
// max-poll-records becomes spring.kafka.consumer.properties.
// max.poll.records. The binder reads the result over the application's
// spring.kafka defaults, which it inherits key by key unless its
// inherit-environment is false (stream.BinderConfig.InheritEnvironment).
func kafkaEnvironments(tree map[string]any, origins map[string]string) (warnings, errs []*stream.ConfigError) {
	for _, be := range binderEnvironments(tree, "kafka") {
		env, base := be.env, be.base
		// spring.kafka.* keys, dotted or nested, gathered in one tree; the
		// other spring.* keys stay as they are, for the binder.
		nested := map[string]any{}
		for _, k := range sortedKeys(env) {
			lk := strings.ToLower(k)
			switch {
			case lk == "spring":
				sm, _ := env[k].(map[string]any)
				kk, ok := mapKey(sm, "kafka")
				if !ok {
					continue
				}
				nestPut(nested, []string{"kafka"}, sm[kk])
				delete(sm, kk)
				if len(sm) == 0 {
					delete(env, k)
				}
			case strings.HasPrefix(lk, "spring.kafka.") || lk == "spring.kafka":
				nestPut(nested, strings.Split(k, ".")[1:], env[k])
				delete(env, k)
			}
		}
		kafka, _ := nested["kafka"].(map[string]any)
		if len(kafka) == 0 {
			continue
		}
		prefix := base + ".spring.kafka"
		kc := kafkaConnection(kafka, prefix, origins)
		warnings, errs = append(warnings, kc.warnings...), append(errs, kc.errs...)
		out := map[string]any{}
		for k, v := range kc.keys {
			bootKey := map[string]string{"brokers": "bootstrap-servers", "client-id": "client-id"}[k]
			out[bootKey] = v
			if o := originOf(origins, kc.from[k]); o != "" {
				origins[strings.ToLower(prefix+"."+bootKey)] = o
			}
		}
		for mk, path := range map[string][]string{"configuration": {"properties"}, "consumer-properties": {"consumer", "properties"}, "producer-properties": {"producer", "properties"}} {
			m, ok := kc.maps[mk]
			if !ok {
				continue
			}
			at := out
			for _, seg := range path[:len(path)-1] {
				next := map[string]any{}
				at[seg] = next
				at = next
			}
			at[path[len(path)-1]] = m
			for prop := range m {
				from := kc.mapFrom[mk+"\x00"+prop]
				if o := originOf(origins, from); o != "" {
					origins[strings.ToLower(prefix+"."+strings.Join(path, ".")+"."+prop)] = o + " (" + strings.TrimPrefix(from, base+".") + ")"
				}
			}
		}
		spring, _ := env["spring"].(map[string]any)
		if spring == nil {
			spring = map[string]any{}
			env["spring"] = spring
		}
		spring["kafka"] = out
	}
	return warnings, errs
}
