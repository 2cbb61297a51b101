package kafka

import (
	"fmt"
	"math"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"

	"github.com/streambind/streambind/binder/props"
)

// This file maps Kafka's own client properties (the Java client's dotted
// names: fetch.min.bytes, linger.ms, sasl.jaas.config ...), as Spring
// Cloud Stream passes them through its configuration maps, onto kafka-go:
//
//	stream.kafka.binder.configuration          producers and consumers
//	stream.kafka.binder.consumer-properties    consumers
//	stream.kafka.binder.producer-properties    producers
//	stream.kafka.bindings.<b>.consumer.configuration
//	stream.kafka.bindings.<b>.producer.configuration
//	stream.kafka.bindings.<b>.consumer.dlq-producer-properties.configuration
//
// A property kafka-go can honour is mapped; one that only tunes the Java
// client's machinery, or asks for what does not change delivery, is
// accepted and ignored, with a warning (props.IgnoredKafkaClientProperty);
// every other one is refused by name, with the reason, since running
// without a setting the user asked for would be worse than not starting.

// mapKind says which maps a Kafka property is read from.
type mapKind int

const (
	// kindBinder is stream.kafka.binder.configuration: connection,
	// security, consumer and producer properties alike.
	kindBinder mapKind = iota
	// kindConsumer is the binder's consumer-properties or a consumer
	// binding's configuration.
	kindConsumer
	// kindProducer is the binder's producer-properties, a producer
	// binding's configuration or a consumer's dlq-producer-properties.
	kindProducer
)

// opt is a value that a Kafka property set (set) or not.
type opt[T any] struct {
	v   T
	set bool
}

func (o *opt[T]) put(v T) { o.v, o.set = v, true }

// over returns o where set, else base.
func (o opt[T]) over(base T) T {
	if o.set {
		return o.v
	}
	return base
}

// merge sets o from p where p is set (p wins).
func (o *opt[T]) merge(p opt[T]) {
	if p.set {
		*o = p
	}
}

// clientProps are the consumer and producer settings given as Kafka
// client properties; unset fields leave the typed settings as they are.
type clientProps struct {
	// consumer
	maxWait, session, heartbeat, rebalance, groupTimeout opt[time.Duration]
	minBytes, maxBytes, fetchMaxBytes, maxPollRecords    opt[int]
	startOffset                                          opt[int64]
	isolation                                            opt[kafkago.IsolationLevel]
	// producer
	linger, writeTimeout             opt[time.Duration]
	batchTarget, maxRequest, retries opt[int]
	compression                      opt[compress.Compression]
	acks                             opt[kafkago.RequiredAcks]
}

// merge sets c from p where p sets a property (p wins).
func (c *clientProps) merge(p clientProps) {
	c.maxWait.merge(p.maxWait)
	c.session.merge(p.session)
	c.heartbeat.merge(p.heartbeat)
	c.rebalance.merge(p.rebalance)
	c.groupTimeout.merge(p.groupTimeout)
	c.minBytes.merge(p.minBytes)
	c.maxBytes.merge(p.maxBytes)
	c.fetchMaxBytes.merge(p.fetchMaxBytes)
	c.maxPollRecords.merge(p.maxPollRecords)
	c.startOffset.merge(p.startOffset)
	c.isolation.merge(p.isolation)
	c.linger.merge(p.linger)
	c.writeTimeout.merge(p.writeTimeout)
	c.batchTarget.merge(p.batchTarget)
	c.maxRequest.merge(p.maxRequest)
	c.retries.merge(p.retries)
	c.compression.merge(p.compression)
	c.acks.merge(p.acks)
}

// applyConsumer sets the consumer settings that c gives.
func (c *clientProps) applyConsumer(cs *consumerSettings) {
	cs.maxWait = c.maxWait.over(cs.maxWait)
	cs.session = c.session.over(cs.session)
	cs.heartbeat = c.heartbeat.over(cs.heartbeat)
	cs.rebalance = c.rebalance.over(cs.rebalance)
	cs.groupTimeout = c.groupTimeout.over(cs.groupTimeout)
	cs.minBytes = c.minBytes.over(cs.minBytes)
	cs.maxBytes = c.maxBytes.over(cs.maxBytes)
	if c.fetchMaxBytes.set {
		// The binder fetches each partition with a request of its own, so
		// the limit of a whole response is also that of one partition.
		cs.maxBytes = min(cs.maxBytes, c.fetchMaxBytes.v)
	}
	cs.batchSize = c.maxPollRecords.over(cs.batchSize)
	cs.startOffset = c.startOffset.over(cs.startOffset)
	cs.isolation = c.isolation.over(cs.isolation)
}

// applyProducer sets the producer settings that c gives.
func (c *clientProps) applyProducer(ps *producerSettings) {
	ps.batchTimeout = c.linger.over(ps.batchTimeout)
	ps.writeTimeout = c.writeTimeout.over(ps.writeTimeout)
	ps.batchTarget = c.batchTarget.over(ps.batchTarget)
	ps.batchBytes = c.maxRequest.over(ps.batchBytes)
	if c.retries.set {
		ps.sendAttempts = int(min(int64(c.retries.v)+1, math.MaxInt32))
	}
	ps.compression = c.compression.over(ps.compression)
	ps.acks = c.acks.over(ps.acks)
}

// connProps are the connection and security properties, read only from
// the binder's configuration map (they are the binder's connections').
type connProps struct {
	brokers  opt[[]string]
	schemes  []brokerScheme // of brokers (parseBrokers)
	clientID opt[string]
	protocol string // security.protocol as given, upper case; "" unset
	// sasl.mechanism and the parsed sasl.jaas.config.
	mechanism          string
	jaasSet            bool
	jaasModule         string
	username, password string
	// ssl.*: PEM files only.
	truststore, keystore   string
	truststoreType, ksType string
	noHostnameCheck        bool
	tlsMin                 uint16
	paths                  map[string]string // property name → its key path, for errors
	any                    bool              // some security property was given
}

// refusedReasons names Kafka client properties that the binder knows and
// cannot honour, with the reason a user reads.
var refusedReasons = map[string]string{
	"transactional.id":                   "exactly-once transactions are not supported (kafka-go has no transactional producer); the binder delivers at least once, and every record carries an id header for de-duplication (but under producer.header-mode: none)",
	"group.id":                           "the consumer group is the binding's group: set stream.bindings.<binding>.group",
	"rebalance.timeout.ms":               "not a Kafka consumer property: the Java client sends max.poll.interval.ms as the group's rebalance timeout; set that (or the binder's rebalance-timeout)",
	"auto.commit.interval.ms":            "the binder commits offsets itself, after each message is handled (at least once); there is no auto-commit",
	"interceptor.classes":                "Java interceptors cannot run in a Go client",
	"partitioner.class":                  "the partition is chosen by the binding (partition-key-expression, the scst_partition header, else murmur2 of the key, as Kafka's default partitioner)",
	"sasl.login.callback.handler.class":  "Java callback handlers cannot run in a Go client; kafka-go supports SASL PLAIN and SCRAM with the credentials of sasl.jaas.config",
	"sasl.client.callback.handler.class": "Java callback handlers cannot run in a Go client; kafka-go supports SASL PLAIN and SCRAM with the credentials of sasl.jaas.config",
	"sasl.kerberos.service.name":         "Kerberos (GSSAPI) is not supported by kafka-go; use SASL PLAIN or SCRAM",
	"ssl.key.password":                   "encrypted private keys are not supported: give ssl.keystore.location a PEM file with an unencrypted key (openssl pkcs8 -nocrypt)",
	"ssl.keystore.password":              "only PEM key stores are supported, and they take no password (convert JKS or PKCS12 with keytool and openssl)",
	"ssl.truststore.password":            "only PEM trust stores are supported, and they take no password (convert JKS or PKCS12 with keytool -exportcert -rfc)",
	"ssl.cipher.suites":                  "Go's crypto/tls chooses the cipher suites",
	"ssl.enabled.protocols":              "set ssl.protocol (TLSv1.2 or TLSv1.3): it is the lowest version accepted",
	"ssl.keymanager.algorithm":           "a Java TLS setting: Go's crypto/tls has no key manager",
	"ssl.trustmanager.algorithm":         "a Java TLS setting: Go's crypto/tls has no trust manager",
	"ssl.provider":                       "a Java TLS setting: Go's crypto/tls is used",
	"ssl.engine.factory.class":           "a Java TLS setting: Go's crypto/tls is used",
	"ssl.secure.random.implementation":   "a Java TLS setting: Go's crypto/rand is used",
}

// connKeys are the properties only the binder's configuration map takes.
func isConnKey(k string) bool {
	switch k {
	case "bootstrap.servers", "client.id", "security.protocol", "sasl.mechanism", "sasl.jaas.config":
		return true
	}
	return strings.HasPrefix(k, "ssl.") || strings.HasPrefix(k, "sasl.")
}

// kafkaMap decodes the Kafka client property map m at path, of kind. The
// producer and consumer properties go to c; with kind kindBinder the
// connection properties go to conn (which must then be non-nil); a
// connection property elsewhere is refused, naming confKey, the key of
// the binder's configuration map to set it in (see settings.confKey).
// Nested maps ({ssl: {truststore: {location: x}}}) are read as the dotted
// names they spell, and '-' and '_' as '.' (the forms an environment
// variable such as STREAM_KAFKA_BINDER_CONFIGURATION_MAX_POLL_RECORDS
// gives), as Spring Boot does: Kafka's names hold neither.
func kafkaMap(d *props.Decoder, path string, m map[string]any, kind mapKind, c *clientProps, conn *connProps, confKey string) {
	for _, k := range props.SortedKeys(m) {
		kafkaProp(d, d.KeyPath(path, k), kafkaName(k), m[k], kind, c, conn, confKey)
	}
}

// kafkaName is a key of a Kafka property map as Kafka spells it.
func kafkaName(k string) string {
	return strings.NewReplacer("-", ".", "_", ".").Replace(strings.ToLower(k))
}

func kafkaProp(d *props.Decoder, p, k string, v any, kind mapKind, c *clientProps, conn *connProps, confKey string) {
	if sub, ok := v.(map[string]any); ok {
		for _, sk := range props.SortedKeys(sub) {
			kafkaProp(d, p+"."+sk, k+"."+kafkaName(sk), sub[sk], kind, c, conn, confKey)
		}
		return
	}
	d.Add(p, decodeKafkaProp(p, k, v, kind, c, conn, confKey))
}

// consumerOnly and producerOnly say which client a property belongs to.
func propSide(k string) (consumer, producer bool) {
	switch k {
	case "fetch.max.wait.ms", "fetch.min.bytes", "max.partition.fetch.bytes", "fetch.max.bytes",
		"max.poll.records", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
		"auto.offset.reset", "isolation.level", "enable.auto.commit", "key.deserializer", "value.deserializer",
		"spring.deserializer.key.delegate.class", "spring.deserializer.value.delegate.class":
		return true, false
	case "linger.ms", "batch.size", "max.request.size", "compression.type", "acks", "retries",
		"enable.idempotence", "max.in.flight.requests.per.connection", "key.serializer", "value.serializer":
		return false, true
	case "request.timeout.ms":
		return true, true
	}
	return false, false
}

func decodeKafkaProp(p, k string, v any, kind mapKind, c *clientProps, conn *connProps, confKey string) error {
	if _, ok := props.IgnoredKafkaClientProperty(k, v); ok {
		// Accepted, not honoured: the configuration loader took it out
		// of the file's maps with a warning saying why; here it comes
		// from a configuration built otherwise (or a binder's
		// environment).
		return nil
	}
	if why, ok := refusedReasons[k]; ok {
		return fmt.Errorf("not supported: %s", why)
	}
	if isConnKey(k) {
		if kind != kindBinder || conn == nil {
			return fmt.Errorf("a connection property, which applies to all of the binder's connections: set it in %s (for another cluster, declare another binder under stream.binders)", confKey)
		}
		return decodeConnProp(p, k, v, conn)
	}
	cons, prod := propSide(k)
	switch {
	case !cons && !prod:
		return fmt.Errorf("not supported: not a Kafka client property that kafka-go can honour (see the Kafka client properties in docs/conventions.md)")
	case kind == kindConsumer && !cons:
		return fmt.Errorf("a producer property in a consumer's map: set it in producer-properties or a producer binding's configuration")
	case kind == kindProducer && !prod:
		return fmt.Errorf("a consumer property in a producer's map: set it in consumer-properties or a consumer binding's configuration")
	}
	var err error
	switch k {
	// consumer
	case "fetch.max.wait.ms":
		err = putDur(&c.maxWait, v, false)
	case "fetch.min.bytes":
		err = putInt(&c.minBytes, v, 1)
	case "max.partition.fetch.bytes":
		err = putInt(&c.maxBytes, v, 1)
	case "fetch.max.bytes":
		err = putInt(&c.fetchMaxBytes, v, 1)
	case "max.poll.records":
		err = putInt(&c.maxPollRecords, v, 1)
	case "session.timeout.ms":
		err = putDur(&c.session, v, false)
	case "heartbeat.interval.ms":
		err = putDur(&c.heartbeat, v, false)
	case "max.poll.interval.ms":
		// The Java client sends it as the group's rebalance timeout.
		err = putDur(&c.rebalance, v, false)
	case "auto.offset.reset":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "earliest":
			c.startOffset.put(kafkago.FirstOffset)
		case "latest":
			c.startOffset.put(kafkago.LastOffset)
		case "none":
			return fmt.Errorf("none is not supported (kafka-go cannot fail a consumer without committed offsets): want earliest or latest")
		default:
			return fmt.Errorf("want earliest or latest, got %q", s)
		}
	case "isolation.level":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "read_uncommitted":
			c.isolation.put(kafkago.ReadUncommitted)
		case "read_committed":
			c.isolation.put(kafkago.ReadCommitted)
		default:
			return fmt.Errorf("want read_uncommitted or read_committed, got %q", s)
		}
	case "enable.auto.commit":
		var b bool
		if b, err = props.Bool(v); err == nil && b {
			return fmt.Errorf("true is not supported: the binder commits offsets itself, after each message is handled (at least once)")
		}
	case "key.deserializer", "value.deserializer", "key.serializer", "value.serializer",
		"spring.deserializer.key.delegate.class", "spring.deserializer.value.delegate.class":
		// Spring Kafka's classes were accepted above, with a warning
		// (props.IgnoredKafkaClientProperty): here Kafka's byte and
		// string ones, which mean what the binder does, or a refusal.
		_, _, err = props.KafkaSerdeClass(k, v)
	// producer
	case "linger.ms":
		err = putDur(&c.linger, v, true)
	case "batch.size":
		var n int
		if n, err = props.Int(v, 0); err == nil {
			// 0 disables batching in the Java client: one record per write.
			c.batchTarget.put(max(n, 1))
		}
	case "max.request.size":
		err = putInt(&c.maxRequest, v, 1)
	case "compression.type":
		var s string
		if s, err = str(v); err != nil {
			return err
		}
		var cc compress.Compression
		if cc, err = compression(s); err == nil {
			c.compression.put(cc)
		}
	case "acks":
		var a kafkago.RequiredAcks
		if a, err = acks(v); err == nil {
			c.acks.put(a)
		}
	case "retries":
		err = putInt(&c.retries, v, 0)
	case "enable.idempotence":
		// true is accepted above (props.IgnoredKafkaClientProperty):
		// here only false, what the binder does, or a wrong value.
		_, err = props.Bool(v)
	case "max.in.flight.requests.per.connection":
		// The binder keeps one write in flight per binding, which keeps
		// the order whatever this says.
		_, err = props.Int(v, 1)
	// both
	case "request.timeout.ms":
		var dur time.Duration
		if dur, err = props.Duration(v, false); err == nil {
			if kind != kindConsumer {
				c.writeTimeout.put(dur)
			}
			if kind != kindProducer {
				c.groupTimeout.put(dur)
			}
		}
	}
	return err
}

func putDur(o *opt[time.Duration], v any, allowZero bool) error {
	d, err := props.Duration(v, allowZero)
	if err == nil {
		o.put(d)
	}
	return err
}

func putInt(o *opt[int], v any, lo int) error {
	n, err := props.Int(v, lo)
	if err == nil {
		o.put(n)
	}
	return err
}

// compression reads a compression type (Kafka's names).
func compression(s string) (compress.Compression, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return 0, nil
	case "gzip":
		return compress.Gzip, nil
	case "snappy":
		return compress.Snappy, nil
	case "lz4":
		return compress.Lz4, nil
	case "zstd":
		return compress.Zstd, nil
	}
	return 0, fmt.Errorf("want none, gzip, snappy, lz4 or zstd, got %q", s)
}

// acks reads required acks (Kafka's acks: all, -1, 1, 0).
func acks(v any) (kafkago.RequiredAcks, error) {
	a, err := str(v)
	if err != nil {
		return 0, err
	}
	switch strings.ToLower(a) {
	case "all", "-1":
		return kafkago.RequireAll, nil
	case "1", "one", "leader":
		return kafkago.RequireOne, nil
	case "0", "none":
		return kafkago.RequireNone, nil
	}
	return 0, fmt.Errorf("want all, 1 or 0, got %q", a)
}
