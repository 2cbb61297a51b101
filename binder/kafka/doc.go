// Package kafka is streambind's Kafka binder (binder type "kafka"), built on
// github.com/segmentio/kafka-go. Register it with
//
//	stream.WithBinderType(kafka.Type, kafka.New)
//
// and it follows CONVENTIONS.md: a destination is a topic, a group is a
// consumer group, dead letters go to error.<destination>.<group>, and the
// headers (contentType, id, scst_partition, x-exception-*, x-original-*)
// are Spring Cloud Stream's, so a streambind service interoperates with
// SCSt services (and with kcat) on the same cluster. For tests and the demo,
// package kafkatest starts an in-process cluster.
//
// # Producer
//
// Send returns only once the broker acknowledged the record with
// required-acks (all, by default — set explicitly, since a bare kafka-go
// Writer asks for no acknowledgement at all), or with the error. Every
// record carries an id header (a UUID unless the message has one): kafka-go
// has no idempotent producer, so a retried write can duplicate a record, and
// consumers can de-duplicate by id. The record key is the message's
// partition key, else its key header; the partition is the scst_partition
// header's (selected by the core), else by key (murmur2, as Kafka's Java
// client), else round robin. Message headers become record headers, plus
// contentType when the message has none.
//
// Batching: kafka-go's default BatchTimeout of 1s makes every lone send
// wait a second. Instead, sends from any number of goroutines queue up in
// the producer, and one flusher writes everything queued (up to batch-size
// messages and batch-bytes) as one batch per partition, waits for the
// acknowledgement, completes the waiting sends, and takes what queued up
// meanwhile. A lone send goes out at once (about one round trip); under
// concurrent load batches grow by themselves. batch-timeout adds a linger
// before each write, for even larger batches at the cost of latency.
// Retriable errors (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, dropped
// connections) are retried with back-off up to send-attempts times.
//
// # Consumer
//
// A named group starts at the earliest offset when it has no committed
// offset; an anonymous consumer joins a fresh group anonymous.<uuid> at
// each Start and starts at the latest offset. start-offset overrides both;
// reset-offsets ignores committed offsets on the binding's first partition
// assignment.
//
// The consumer joins the group with kafka-go's ConsumerGroup and, for each
// generation (one partition assignment), runs a worker per assigned
// partition: a reader fetches ahead into a bounded queue (queue-capacity),
// the worker hands the messages to the handler one at a time in offset
// order, and marks the partition processed up to the last one acknowledged.
// A committer commits the processed offsets of all partitions — coalesced,
// one commit in flight at a time — and once more when the generation ends.
//
//   - Ack (nil): the offset moves past the message.
//   - Nak (stream.ErrNak, or a handler interrupted by Stop): the offset
//     stays; the message is handled again after redelivery-delay, and the
//     rest of its partition waits for it. If the generation ends first, the
//     next owner of the partition gets it again.
//   - Term (any other error): with dlq on a named group the message is sent
//     to the dead-letter topic and only then committed; if that send fails
//     it is retried and nothing is committed past it. Without dlq it is
//     dropped (logged at debug; the core has counted it) and committed.
//
// Dead letters keep the key, value and headers, and get
// stream.DeadLetterHeaders plus x-original-topic, x-original-partition
// (4-byte big-endian), x-original-offset and x-original-timestamp (8-byte
// big-endian; milliseconds) and x-original-timestamp-type. They go to the
// source partition where the dead-letter topic has it, else to partition
// (source mod count).
//
// # Concurrency and ordering
//
// consumer.concurrency bounds the handler calls running at once across the
// partitions of a binding; within a partition, messages are handled one at
// a time and in offset order, so a message is handled only after the one
// before it was acknowledged. Hence the processed prefix of a partition is
// always contiguous and committing it never skips an unprocessed message,
// and concurrency above the number of assigned partitions leaves slots
// idle (provisioning creates concurrency × instance-count partitions for a
// new topic for that reason). A retried or Nak'ed message holds back its
// partition, and only its partition.
//
// Rebalances: when the group rebalances, intake stops, in-flight handler
// calls finish (their context is cancelled after half the rebalance-timeout),
// the processed offsets are committed, and the member rejoins. A commit
// that fails because the generation is gone is logged and not fatal: the
// new owner of the partition gets those messages again (a duplicate, never
// a loss). Stop does the same and then leaves the group; Close of the binder
// stops every consumer, then flushes every producer, bounded by its ctx.
// Pause keeps the membership and assignment but hands out nothing; Resume
// goes on.
//
// consumer.batch-mode delivers the messages of one partition that are
// already fetched (up to batch-size) as one slice; the outcome applies to
// the whole batch, which is committed, redelivered or dead-lettered as one.
//
// consumer.partitioned / instance-index are not used: Kafka assigns the
// partitions among the group's members.
//
// # Provisioning
//
// Binding a producer or consumer makes sure its topics exist: created with
// max(partition-count, min-partition-count) partitions for a producer and
// max(concurrency × instance-count, min-partition-count) for a consumer, and
// replication-factor replicas. A consumer with dlq also provisions its
// dead-letter topic with as many partitions as its source topic. An
// existing topic with fewer partitions than a producer needs gets more
// when auto-add-partitions is on and is an error otherwise (a consumer only
// logs it). With auto-create-topics false, a missing topic is a startup
// error naming it.
//
// # Configuration
//
// Binder settings are read from stream.kafka.binder and then
// stream.binders.<name>.environment (which wins); keys are kebab-case,
// camelCase is accepted, and an unknown key is an error naming its path
// (values are read as package binder/props describes; a duration is a Go
// duration or a number of milliseconds):
//
//	brokers: localhost:9092        # comma-separated or a list (alias bootstrap-servers)
//	client-id: streambind
//	required-acks: all             # all | 1 | 0
//	auto-create-topics: true
//	auto-add-partitions: false
//	min-partition-count: 1
//	replication-factor: -1         # -1: the broker's default
//	dial-timeout: 10s              # connections and admin requests
//	heartbeat-interval: 1s         # consumer group heartbeats (rebalances are noticed this fast)
//	session-timeout: 10s
//	rebalance-timeout: 10s
//	close-timeout: 5s              # longest wait for leaving a group on Stop
//	tls:                           # TLS is on when this section is present (enabled: false turns it off)
//	  enabled: true
//	  ca-file: ""                  # PEM; default: the system roots
//	  cert-file: ""                # client certificate and key, PEM
//	  key-file: ""
//	  server-name: ""              # default: the broker's host name
//	  insecure-skip-verify: false
//	sasl:
//	  mechanism: PLAIN             # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
//	  username: ""
//	  password: ""                 # never printed: removed from every error and log line
//
// Producer properties, stream.kafka.bindings.<binding>.producer (or
// stream.kafka.default.producer):
//
//	batch-timeout: 0               # linger before a write; 0: write at once (natural batching)
//	batch-size: 1000               # most messages per write
//	batch-bytes: 1048576           # most bytes per write
//	compression: none              # none | gzip | snappy | lz4 | zstd
//	write-timeout: 10s             # per write attempt
//	send-attempts: 10              # attempts per batch for retriable errors
//
// Consumer properties, stream.kafka.bindings.<binding>.consumer:
//
//	start-offset: ""               # earliest | latest; default: earliest for a group, latest for anonymous
//	reset-offsets: false           # ignore committed offsets on the first assignment
//	dlq-name: ""                   # default error.<destination>.<group>
//	max-wait: 250ms                # longest fetch wait when there is no data
//	max-bytes: 10485760            # largest fetch response
//	queue-capacity: 256            # messages fetched ahead per partition
//	batch-size: 500                # largest batch in batch mode
//	redelivery-delay: 100ms        # before a Nak'ed message is handled again
package kafka
