package props

import "strings"

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
func IgnoredKafkaClientProperty(name string, v any) (why string, ok bool) {
	why, ok = ignoredKafkaClientProps[strings.ToLower(name)]
	if ok && strings.EqualFold(name, "enable.idempotence") {
		b, err := Bool(v)
		ok = err == nil && b
	}
	return why, ok
}
