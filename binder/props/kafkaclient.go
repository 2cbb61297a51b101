package props

import (
	"fmt"
	"strings"
)

// ignoredKafkaClientProps are Kafka client properties (the Java client's
// names) that SCSt configurations commonly carry and that the Kafka binder
// accepts without honouring them, with why nothing a user relies on
// changes: they tune the Java client's own machinery (buffers, back-offs,
// caches, DNS), which kafka-go does its own way, or ask for what the binder
// cannot provide but what does not change delivery (at least once either
// way). Refusing them would stop an SCSt file that runs unchanged
// otherwise. The configuration loader takes them out of the Kafka property
// maps with a warning at their file:line (config: ignoredKafkaClientKeys);
// the binder accepts them too, for a configuration built otherwise.
var ignoredKafkaClientProps = map[string]string{
	"retry.backoff.ms":              "kafka-go retries failed requests on its own schedule, and the binder's sends retry send-attempts times (retries), each bounded by write-timeout",
	"retry.backoff.max.ms":          "kafka-go retries failed requests on its own schedule, and the binder's sends retry send-attempts times (retries), each bounded by write-timeout",
	"reconnect.backoff.ms":          "kafka-go dials a broker again on the next request to it, each dial bounded by the binder's dial-timeout",
	"reconnect.backoff.max.ms":      "kafka-go dials a broker again on the next request to it, each dial bounded by the binder's dial-timeout",
	"metadata.max.age.ms":           "the binder refreshes its metadata every 2s (Java's default is 5 minutes), which is how it finds new partitions and recreated topics soon",
	"connections.max.idle.ms":       "kafka-go closes a connection idle for 30s and opens it again when needed",
	"client.dns.lookup":             "Go's resolver tries every address a broker's name resolves to (Java's default, use_all_dns_ips)",
	"buffer.memory":                 "kafka-go has no producer buffer pool to size: batch-size and batch-bytes bound what one write holds, and a send waits for its write",
	"allow.auto.create.topics":      "topics are created by the binder's provisioning (auto-create-topics), never by a consumer's request",
	"delivery.timeout.ms":           "kafka-go has no delivery timeout: a send is bounded by send-attempts (retries) × write-timeout (request.timeout.ms) and by its context; delivery is at least once either way",
	"group.instance.id":             "static group membership is not supported by kafka-go: the member joins dynamically, so its restart is a rebalance (a static member keeps its partitions for session.timeout.ms); delivery is at least once either way",
	"partition.assignment.strategy": "the binder assigns partitions with kafka-go's range and round-robin balancers, eagerly (a rebalance revokes every partition, then assigns); a group that Java members share with it needs an assignor both have (RangeAssignor or RoundRobinAssignor)",
	// Only true: false is what the binder does, and is accepted as such.
	"enable.idempotence": "kafka-go has no idempotent producer, so a write retried after a lost answer can store a record twice (at least once, as with enable.idempotence false); the order is kept (one write in flight per binding), and every record carries an id header for de-duplication (but under header-mode: none). true is the Java client's default since Kafka 3.0, so SCSt files carry it",
}

// IgnoredKafkaClientProperty says whether the Kafka client property name
// (as Kafka spells it: fetch.min.bytes) with value v is one the Kafka
// binder accepts without honouring it, and why (see
// ignoredKafkaClientProps). enable.idempotence is ignored only when true
// (v as Bool reads it); false is honoured (it is what the binder does).
// So are, in every Kafka property map, the settings of Spring Kafka's
// serializers and deserializers (spring.json.trusted.packages,
// spring.deserializer.value.delegate.class ...: every name under spring.,
// which Kafka's own client has none of) and a (de)serializer class of
// Spring Kafka's whose meaning the binder has (KafkaSerdeClass), as SCSt
// files carry them as boilerplate.
func IgnoredKafkaClientProperty(name string, v any) (why string, ok bool) {
	n := strings.ToLower(name)
	if serde, why, err := KafkaSerdeClass(n, v); serde {
		return why, err == nil && why != ""
	}
	if strings.HasPrefix(n, "spring.") {
		return springKafkaSetting, true
	}
	why, ok = ignoredKafkaClientProps[n]
	if ok && n == "enable.idempotence" {
		b, err := Bool(v)
		ok = err == nil && b
	}
	return why, ok
}

// IgnoredKafkaClientWarning is the warning (without its key path) for the
// Kafka client property name with value v that IgnoredKafkaClientProperty
// accepts without honouring it; ok is false for any other. The
// configuration loader logs it at the property's file:line.
func IgnoredKafkaClientWarning(name string, v any) (msg string, ok bool) {
	why, ok := IgnoredKafkaClientProperty(name, v)
	if !ok {
		return "", false
	}
	n := strings.ToLower(name)
	if serde, _, _ := KafkaSerdeClass(n, v); serde {
		s, _ := v.(string)
		return "ignored: " + n + " " + strings.TrimSpace(s) + " is not used: " + why, true
	}
	if strings.HasPrefix(n, "spring.") {
		return "ignored: " + why, true
	}
	return "ignored: " + n + " is a Java Kafka client property the binder accepts without honouring it: " + why, true
}

// springKafkaSetting is why a spring.* property of a Kafka property map
// changes nothing.
const springKafkaSetting = "a setting of Spring Kafka's serializers and deserializers (JsonDeserializer, ErrorHandlingDeserializer ...), which the binder does not use: records are read and written as bytes and converted by the binding's content-type"

// serdeClass is a Java (de)serializer class whose meaning the binder has:
// what the binder does instead (why; "" when it is exactly that: the bytes
// as they are), and whether it deserializes.
type serdeClass struct {
	deserializer bool
	why          string
}

const (
	kafkaSerde  = "org.apache.kafka.common.serialization."
	springSerde = "org.springframework.kafka.support.serializer."
	// jsonConverted is what stands for Spring Kafka's JSON (de)serializers.
	jsonConverted = "records are read and written as bytes, and JSON is the binding's content-type conversion (application/json, the default: a Go value is written as its JSON, and JSON read into the function's Go type), so no Java type information (spring.json.*) is used"
)

// serdeClasses are the (de)serializers the binder accepts: Kafka's that
// mean "the bytes as they are", and Spring Kafka's whose work the binder
// does its own way. No other Java class can run.
var serdeClasses = map[string]serdeClass{
	kafkaSerde + "ByteArraySerializer":        {},
	kafkaSerde + "ByteArrayDeserializer":      {deserializer: true},
	kafkaSerde + "BytesSerializer":            {},
	kafkaSerde + "BytesDeserializer":          {deserializer: true},
	kafkaSerde + "ByteBufferSerializer":       {},
	kafkaSerde + "ByteBufferDeserializer":     {deserializer: true},
	kafkaSerde + "StringSerializer":           {},
	kafkaSerde + "StringDeserializer":         {deserializer: true},
	springSerde + "JsonSerializer":            {why: jsonConverted},
	springSerde + "JsonDeserializer":          {deserializer: true, why: jsonConverted},
	springSerde + "StringOrBytesSerializer":   {why: "the binder writes the message's bytes as they are (a string as its UTF-8 bytes), which is what StringOrBytesSerializer does"},
	springSerde + "ErrorHandlingDeserializer": {deserializer: true, why: "the binder reads a record's bytes as they are, which cannot fail; a payload the binding's content-type conversion cannot read fails its message, which is handled as any failed message (retries, then the dead-letter topic with enable-dlq), where SCSt hands ErrorHandlingDeserializer's failure to its error handler"},
	// Its name in Spring Kafka 2.2 to 2.4.
	springSerde + "ErrorHandlingDeserializer2": {deserializer: true, why: "the binder reads a record's bytes as they are, which cannot fail; a payload the binding's content-type conversion cannot read fails its message, which is handled as any failed message (retries, then the dead-letter topic with enable-dlq), where SCSt hands ErrorHandlingDeserializer's failure to its error handler"},
}

// KafkaSerdeClass reads the value v of the Kafka client property name if
// it names a (de)serializer class: key.serializer, value.serializer,
// key.deserializer, value.deserializer, or the delegate of Spring Kafka's
// ErrorHandlingDeserializer (spring.deserializer.key.delegate.class,
// spring.deserializer.value.delegate.class); serde is false for any other
// name. A class the binder stands for (serdeClasses) gives why: "" for
// Kafka's byte and string (de)serializers, which mean what the binder
// does, else what the binder does instead; any other class, or a
// serializer where a deserializer is asked for (or the reverse), is err,
// naming the class and what to do.
func KafkaSerdeClass(name string, v any) (serde bool, why string, err error) {
	var deserializer bool
	switch strings.ToLower(name) {
	case "key.serializer", "value.serializer":
	case "key.deserializer", "value.deserializer",
		"spring.deserializer.key.delegate.class", "spring.deserializer.value.delegate.class":
		deserializer = true
	default:
		return false, "", nil
	}
	s, ok := v.(string)
	if !ok {
		return true, "", fmt.Errorf("want a class name, got %T", v)
	}
	s = strings.TrimSpace(s)
	c, known := serdeClasses[s]
	switch {
	case known && c.deserializer == deserializer:
		return true, c.why, nil
	case known && deserializer:
		return true, "", fmt.Errorf("%q is a serializer: a deserializer is wanted here", s)
	case known:
		return true, "", fmt.Errorf("%q is a deserializer: a serializer is wanted here", s)
	}
	return true, "", fmt.Errorf("%q is not supported: records are read and written as the message's bytes (a Java class cannot run here); accepted are Kafka's ByteArray, Bytes, ByteBuffer and String (de)serializers, which mean just that, and Spring Kafka's JsonSerializer, JsonDeserializer, StringOrBytesSerializer and ErrorHandlingDeserializer (with such a delegate), whose work the binder does its own way — convert other payloads with the binding's content-type (a converter registered for it)", s)
}
