package kafka

import "strings"

// keySpec is a key of the binder settings or of a binding's Kafka
// properties that the binder recognises: its documented (kebab-case) name
// and the other spellings it takes. The tables below are what the
// "unknown key" error lists as known (and suggests from), and a test
// checks them against the keys the decoders handle (the case labels of
// parseSettings' binderKey, decodeProducer, decodeConsumer and scstKey),
// so that the list cannot leave out a key that is accepted.
type keySpec struct {
	name    string
	aliases []string
	// scst: one of SCSt's keys that the binder takes because it asks for
	// what the binder does anyway (scstKey), listed after the binder's
	// own keys.
	scst bool
	// refused: recognised only to be refused with the reason (a Spring
	// bean name, transactions); not listed as known.
	refused bool
	// loader: the configuration loader takes the key before the binder
	// sees it (enable-dlq: the binding's consumer.dlq); the binder refuses
	// it from a configuration built otherwise, naming that key.
	loader bool
}

var binderKeyTable = []keySpec{
	{name: "brokers", aliases: []string{"bootstrap-servers"}},
	{name: "default-broker-port"},
	{name: "client-id"},
	{name: "required-acks", aliases: []string{"acks"}},
	{name: "auto-create-topics"},
	{name: "auto-add-partitions"},
	{name: "min-partition-count"},
	{name: "replication-factor"},
	{name: "dial-timeout"},
	{name: "heartbeat-interval"},
	{name: "session-timeout"},
	{name: "rebalance-timeout"},
	{name: "close-timeout"},
	{name: "health-interval"},
	{name: "health-timeout"},
	{name: "lag-interval"},
	{name: "metrics"},
	{name: "tls"},
	{name: "sasl"},
	{name: "jaas"},
	{name: "configuration"},
	{name: "consumer-properties"},
	{name: "producer-properties"},
	{name: "transaction", refused: true},
	{name: "headers", scst: true},
	{name: "consider-down-when-any-partition-has-no-leader", scst: true},
	{name: "enable-observation", scst: true},
	{name: "auto-alter-topics", scst: true},
	{name: "zk-nodes", scst: true},
	{name: "default-zk-port", scst: true},
	{name: "zk-session-timeout", scst: true},
	{name: "zk-connection-timeout", scst: true},
	{name: "header-mapper-bean-name", scst: true, refused: true},
	{name: "certificate-store-directory", scst: true, refused: true},
	{name: "authorization-exception-retry-interval", scst: true, refused: true},
}

var producerKeyTable = []keySpec{
	{name: "batch-timeout", aliases: []string{"linger"}},
	{name: "batch-size"},
	{name: "batch-bytes"},
	{name: "buffer-size"},
	{name: "compression", aliases: []string{"compression-type"}},
	{name: "write-timeout"},
	{name: "send-attempts"},
	{name: "message-key-expression"},
	{name: "header-patterns"},
	{name: "configuration"},
	{name: "topic", aliases: []string{"admin"}},
	{name: "sync", scst: true},
	{name: "allow-non-transactional", scst: true},
	{name: "use-topic-header", scst: true},
	{name: "close-timeout", scst: true},
	{name: "send-timeout-expression", scst: true},
	{name: "record-metadata-channel", scst: true, refused: true},
	{name: "transaction-manager", scst: true, refused: true},
}

var consumerKeyTable = []keySpec{
	{name: "start-offset"},
	{name: "reset-offsets"},
	{name: "enable-dlq", loader: true},
	{name: "dlq-name"},
	{name: "dlq-partitions"},
	{name: "dlq-producer-properties"},
	{name: "max-wait"},
	{name: "max-bytes"},
	{name: "queue-capacity"},
	{name: "batch-size"},
	{name: "redelivery-delay"},
	{name: "ordering"},
	{name: "auto-rebalance-enabled"},
	{name: "configuration"},
	{name: "topic", aliases: []string{"admin"}},
	{name: "ack-each-record", scst: true},
	{name: "auto-commit-offset", scst: true},
	{name: "ack-mode", scst: true},
	{name: "auto-commit-on-error", scst: true},
	{name: "destination-is-pattern", scst: true},
	{name: "standard-headers", scst: true},
	{name: "idle-event-interval", scst: true},
	{name: "poll-timeout", scst: true},
	{name: "tx-commit-recovered", scst: true},
	{name: "reactive-at-most-once", scst: true},
	{name: "reactive-auto-commit", scst: true},
	{name: "transaction-manager", scst: true, refused: true},
	{name: "converter-bean-name", scst: true, refused: true},
	{name: "common-error-handler-bean-name", scst: true, refused: true},
}

// The hints of the unknown-key errors (props.UnknownKey).
var (
	binderKeys   = knownKeys(binderKeyTable)
	producerKeys = knownKeys(producerKeyTable)
	consumerKeys = knownKeys(consumerKeyTable)
)

// knownKeys lists the keys of table that are accepted, for an unknown-key
// error: "brokers (or bootstrap-servers), default-broker-port, ...; SCSt's:
// headers, ...", SCSt's keys that the binder takes last. (No other word
// in lower case: the suggestion of a key meant is taken from the words of
// the hint.)
func knownKeys(table []keySpec) string {
	var own, scst []string
	for _, k := range table {
		if k.refused {
			continue
		}
		s := k.name
		if len(k.aliases) > 0 {
			s += " (or " + strings.Join(k.aliases, ", ") + ")"
		}
		if k.scst {
			scst = append(scst, s)
		} else {
			own = append(own, s)
		}
	}
	out := strings.Join(own, ", ")
	if len(scst) > 0 {
		out += "; SCSt's: " + strings.Join(scst, ", ")
	}
	return out
}
