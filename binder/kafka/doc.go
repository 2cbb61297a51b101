// Package kafka is streambind's Kafka binder (binder type "kafka"), built on
// github.com/segmentio/kafka-go. Register it with
//
//	stream.WithBinderType(kafka.Type, kafka.New)
//
// and it follows docs/conventions.md: a destination is a topic, a group is a
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
// record carries an id header (a UUID unless the message has one), but
// under header-mode none (below): kafka-go has no idempotent producer, so
// a retried write can duplicate a record, and consumers can de-duplicate
// by id. The record key is the message's key (a Message's Key or
// kafka_messageKey header; never the partition-key-expression's value,
// which selects the partition only, as in SCSt), else its key header, else
// none; message-key-expression, when set, wins. The partition is the
// scst_partition header's (selected by the core), else by key (murmur2, as
// Kafka's Java client), else round robin. Message headers become record headers, plus
// contentType when the message has none. Under producer.header-mode none a
// record carries no headers at all (no contentType, id or scst_partition),
// as SCSt's Kafka binder sends it then (without a header mapper): the
// partition is still selected, message-key-expression still sees the
// message's headers (the binder strips them itself,
// stream.HeaderModeApplier), and a consumer takes its binding's
// content-type.
//
// Batching: sends from any number of goroutines queue up per partition
// in the producer (kafka-go's Writer is not used: it sends one request per
// partition batch and lingers BatchTimeout, 1s by default). Each broker
// gets one produce request carrying the next batch (up to batch-size
// records and batch-bytes, or buffer-size / batch.size bytes) of every one
// of its partitions that has no batch in flight; up to 5 requests may be
// in flight per broker, but at most one batch per partition, so a failed
// and retried batch is never overtaken by a later one of its partition.
// When a request is acknowledged its sends complete and the batches that
// queued up meanwhile go out. A lone send goes out at once (about one
// round trip); under concurrent load batches grow by themselves.
// batch-timeout adds a linger: a partition's batch waits until its oldest
// record is that old, unless it is full. Retriable errors
// (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, dropped connections) are
// retried with back-off (50ms × attempt², at most 1s) up to send-attempts
// times, per partition batch.
// A refusal of the message itself (see Errors) is returned wrapped with
// stream.Permanent, so the core does not retry it and dead-letters its
// input. When the broker refuses a batch for its records — its size
// (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE: the batch is over the
// topic's max.message.bytes as a whole), or INVALID_RECORD, which Kafka
// answers for the whole batch when one record is invalid (a record
// without key on a compacted topic) — its messages are written again one
// by one, so that only a message refused by itself fails and the others
// are written. Where the broker names the invalid records (produce v8's
// RecordErrors, Kafka 2.4 on), only those fail and the others are written
// again as one batch. A topic deleted at run time is
// created again by the next send when auto-create-topics is on. When it
// is off, a send fails once the cluster (asked directly, not kafka-go's
// metadata cache) confirms that the topic is gone — transiently: the
// message is not at fault, so the core leaves its input for redelivery —
// and the producer binding reports itself down (stream.BindingHealthChecker:
// readiness names it) until the topic exists again. A topic that refuses
// the binder's records (TOPIC_AUTHORIZATION_FAILED and the other refusals
// listed under Errors) is treated alike: the send fails transiently and
// the binding reports itself down until a send succeeds again. One WARN
// line says that the binding went down and one INFO line that it came
// back; the failed sends in between are logged at debug (the core logs
// each input it leaves for redelivery).
//
// # Consumer
//
// A named group starts at the earliest offset when it has no committed
// offset; an anonymous consumer joins a fresh group anonymous.<uuid> at
// each Start and starts at the latest offset: each partition's end as
// Start read it, not at the group's first assignment, which a broker
// delays (group.initial.rebalance.delay.ms, 3s by default) — so that, as
// on the other binders, a record sent after Start returned is delivered
// (a partition Start could not read, within health-timeout, starts at its
// end at the assignment). start-offset overrides both;
// reset-offsets ignores committed offsets on the binding's first partition
// assignment. The latest offset applies to a brand-new group only (see New
// partitions): a partition of a topic the group is already consuming, or
// has committed offsets for, starts at the earliest offset when it has no
// committed offset.
//
// The consumer joins the group with kafka-go's ConsumerGroup and, for each
// generation (one partition assignment), runs a worker per assigned
// partition: a fetcher reads the partition over a connection to its
// leader (kafka-go's Conn: one fetch request at a time, records decoded as
// they arrive; a lost connection, a new leader or an unknown partition
// redial with back-off) into a bounded queue (queue-capacity messages),
// the worker takes what is queued at once (one hand-over for all the
// messages fetched while it was busy), hands the messages to the handler
// one at a time in offset order, and marks the partition processed up to
// the last one acknowledged.
//
// Each fetch asks the broker to wait up to max-wait (500ms, the Java
// client's fetch.max.wait.ms) for records, and its answer is awaited
// max-wait plus request.timeout.ms (by default dial-timeout, 10s): an
// empty answer that comes late — a broker in another region, a busy host
// — is an idle fetch like any other, while a broker that does not answer
// at all is given up then (a WARN line) and the partition dialled again.
// A fetch that fails otherwise (a dropped connection) dials the partition
// again too. A record batch that cannot be decoded (corrupt, or in a
// compression the client does not read) is not skipped, which would lose
// its records: the partition stops at it, fetched again with back-off up
// to 1s, and the third failure in a row at one offset is a WARN naming the
// offset and the error ("kafka: fetching the partition keeps failing at
// this offset"), repeated after 6, 12, 24 ... failures; the lag shows the
// records waiting behind it. Connections dropped at one offset three times
// in a row are such a WARN too (which then does not speak of a batch that
// cannot be decoded); a broker's answer that the partition's leader is
// moving (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE ...) is not
// counted.
//
// That is a connection and a fetch loop per assigned partition: an idle
// consumer of P partitions holds P connections (plus its group
// coordinator's and the binder's shared ones) and sends P fetch requests
// every max-wait, and the broker answers each — about 2 × P fetches a
// second at the default, whatever the traffic. A process with many
// partitions (many bindings × partitions, or high concurrency) should
// raise max-wait, which adds no latency (a fetch is answered as soon as a
// record arrives) but lowers the idle fetch rate in proportion. Fetching
// all of a broker's partitions over one connection, as the Java client
// does, would need a fetcher shared per broker; it is not done (see
// docs/operations.md, Sizing a Kafka consumer with many partitions).
// A committer commits the processed offsets of all partitions — coalesced,
// one commit in flight at a time — and once more when the generation ends.
//
// A join that fails because no broker answered (the broker or the group
// coordinator down) is tried again every 250 ms, so that the consumer
// joins within a moment of the broker's return. A join the broker refused
// (a failed login, say after a password rotation, or a refused group) is
// tried again after a back-off of 250 ms doubling to 5 s, reset by a
// successful join: a broker logs every failed login. Failures are logged
// at WARN at intervals doubling from 250 ms to 5 s (with attempts,
// retry_in and failing_for), and the join that succeeds at INFO ("kafka:
// joined the consumer group again").
//
//   - Ack (nil): the offset moves past the message.
//   - Nak (stream.ErrNak, or a handler interrupted by Stop): the offset
//     stays; the message is handled again after redelivery-delay, and the
//     rest of its partition waits for it. If the generation ends first, the
//     next owner of the partition gets it again.
//   - Term (any other error): with dlq on a named group the message is sent
//     to the dead-letter topic and only then committed; if that send fails
//     transiently the message is held, as on RabbitMQ and NATS: the send
//     is retried with back-off (from redelivery-delay, at least 100ms, to
//     5s; a longer redelivery-delay stays), nothing is committed past it
//     meanwhile (the handler is not called again for it; its partition
//     waits), it counts in flight (a batch's failed messages each until
//     its dead letter went), its WARN lines are paced (5s doubling to
//     5min, DEBUG between), and after 3 failed sends the consumer
//     binding's Health reports its dead letters down until one is
//     written. Without dlq it is dropped (logged at debug; the core has
//     counted it) and committed.
//
// Header types (Spring's spring_json_header_types): SCSt's Kafka binder
// (BinderHeaderMapper) writes beside the headers a record header
// spring_json_header_types, a JSON object of each header's Java class,
// and a Java consumer reads a header it does not list as byte[] (so
// @Header String x and headers['x'] == 'a' fail), one it lists as that
// class. Inbound, a header listed as java.lang.String (or a MimeType,
// MediaType) whose value is a JSON string reads as the decoded text — SCSt
// writes its contentType (a MimeType) as "application/json", quotes
// included, which read so matched no converter and failed every message;
// an SCSt 2.x MimeType object reads as type/subtype;params; other classes
// (Integer, Boolean, ...) read as their JSON text; headers not listed as
// their bytes; and the types header itself is not in the handler's
// headers. Outbound, every record (but under header-mode none) carries
// the types header listing its UTF-8 text headers as java.lang.String, in
// name order, with their values raw as SCSt's producer writes a String;
// a listed value that starts with '"' (which the Java mapper would
// JSON-decode) is written JSON-encoded, so that it reads back as sent,
// here and in Java. Not listed (byte[] for Java, as SCSt writes them):
// headers that are not UTF-8, and on dead letters and retry copies
// x-exception-* and x-original-*. Dead letters and retry copies get the
// types header the same way, but of a record that had one (a Java
// producer's) they copy each header the handler still has as the record
// gave it with the record's bytes and class (a Long stays a Long, an
// unlisted byte[] header unlisted), as Spring Kafka's
// DeadLetterPublishingRecoverer copies a record's headers; only the
// headers they add or that changed on the way are listed as above.
// Records of an earlier
// streambind, without the header, read as before; an earlier streambind
// reads ours with the extra header in its Headers.
//
// A header that a record carries more than once (legal in Kafka) reads
// as its last value in the handler's stream.Headers (as Spring Kafka's
// header mapper keeps one); its values are all in the envelope's
// NativeHeaders, and a dead letter, a retry topic's copy and a dead
// letter's replay (stream.ReplayEnvelope to a Kafka producer) are written
// with every value, in order, unless the header changed on the way, as
// Spring Kafka's DeadLetterPublishingRecoverer copies a record's headers.
// A function's output is written with it once, as SCSt writes the one
// value its message holds: the value the function read (in its Java
// class, for one a Java producer typed) or the one it set.
//
// Dead letters keep the key, value and headers, and get
// stream.DeadLetterHeaders plus x-original-topic, x-original-partition
// (4-byte big-endian), x-original-offset and x-original-timestamp (8-byte
// big-endian; milliseconds) and x-original-timestamp-type (CreateTime;
// for a record without a timestamp -1 and NoTimestampType, as SCSt
// writes them). kafka-go reads each record's own timestamp, so on a topic
// with message.timestamp.type LogAppendTime these (and the handler's
// stream.Received timestamp) are the producer's time, not the broker's
// append time, and the type says CreateTime. They go to partition 0 when
// dlq-partitions is 1 (however many partitions min-partition-count gave
// the topic), else to the source partition where the dead-letter topic
// has it, and otherwise to partition (source mod count): SCSt's choice
// without a DlqPartitionFunction bean, except that SCSt's send to a
// partition the topic lacks fails. There is no hook to choose another
// partition.
//
// # Dead letters always fit
//
// A message close to its topic's max.message.bytes no longer fits once the
// x-exception-* and x-original-* headers are added. So before it is sent,
// a dead letter is fitted (stream.FitDeadLetter) to the dead-letter
// topic's max.message.bytes, read with DescribeConfigs (else the broker's
// message.max.bytes; else Kafka's default, 1048588) and cached per topic
// for the binder's life. When neither can be read (DescribeConfigs refused
// by an ACL, say), Kafka's default is assumed for a minute, with one WARN,
// before the next dead letter asks again. The record batch header (61 bytes) and upper
// bounds of each record's and each header's varints (40 and 10 bytes) are
// counted, and the dead-letter writer sends batches of one uncompressed
// record, so a fitted dead letter is never batched into a batch over the
// limit. In this order, as far as needed: x-exception-stacktrace and then
// x-exception-message are shortened (to no less than 256 bytes, ending in
// "…[cut]"), as are other values of those kept headers over 256 bytes (a
// long id), original headers other than id, contentType, x-exception-*
// and x-original-* are dropped (largest first), and the key and payload are
// dropped (a headers-only dead letter: its x-original-* headers locate the
// message, the x-exception-* headers say why it failed). The header
// x-streambind-truncated lists what was cut, and a WARN line says what and
// why (size before, max.message.bytes).
//
// If the broker still refuses a fitted dead letter for its size (the
// topic's setting was lowered since it was read), the limit is read again
// and the dead letter sent once more without its payload. When not even a
// headers-only dead letter fits, or the broker refuses it for good
// (MESSAGE_TOO_LARGE again, authorisation, an invalid topic, a dead-letter
// topic that does not exist while auto-create-topics is off), the message
// is dropped with an ERROR line and counted, and committed: a single
// message never stops its partition. The consumer binding reports these
// counts (stream.DeadLetterReporter: truncated, headers-only, dropped).
// A dead-letter topic deleted at run time is created again when
// auto-create-topics is on.
//
// # New partitions
//
// Partitions added to a topic while a group consumes it (kafka-topics
// --alter, or a producer binding with auto-add-partitions) are consumed
// without a restart. Each member of the group asks the cluster for its
// topics' partition counts — on a connection of its own, not kafka-go's
// metadata cache, bounded by health-timeout — as soon as a generation
// starts and then every 5 seconds (the partition watch interval; not a
// setting). When a count differs from the one the generation's assignment
// was computed from, the member ends its generation and rejoins, and the
// group is assigned anew (see Rebalances). The group's leader knows those
// counts exactly (its balancer records them while assigning); a member
// that is not the leader compares with the counts at the start of its
// generation, and the leader's check covers the rest. So a partition
// added while the group runs is consumed within about 5s plus one
// rebalance (whose wind-down does not wait for the fetches in progress:
// their connections are closed; with the interval shortened to
// 200ms, the tests see a new partition's records within about 420ms),
// and one added while the group was joining is found by the check at the
// start of the generation, at once. (kafka-go's own watcher,
// WatchPartitionChanges, is not used: it took its counts when the
// generation started, so a partition added between the leader's
// assignment and that moment was never assigned, and its records were not
// consumed for as long as the group ran.)
//
// A partition without a committed offset starts at the earliest offset,
// unless start-offset latest (the default of an anonymous consumer)
// applies, which it does only for a brand-new group: a partition created
// after the binding's first assignment since Start, or one of a topic the
// group has committed offsets for, starts at the earliest offset, since
// its records were all written after the group began consuming the topic
// — those written before the group noticed the partition are not skipped.
// A partition that starts at its latest offset has that offset committed
// at once, although nothing was handled yet, so that a rebalance or a
// restart resumes there: records written meanwhile are not skipped, and
// older ones are not read. When the group's committed offsets cannot be
// read, such a partition starts at the earliest offset (a duplicate
// rather than a loss; a WARN line says so).
//
// While a topic the group subscribes to does not exist (deleted and not
// created again), kafka-go's balancer assigns the group nothing at a
// rebalance. So the consumer does not rejoin when it finds one missing: it
// logs a WARN naming the missing topics and keeps its generation (its
// partitions of the other topics go on) until the topic exists again,
// rather than rejoining in a loop; a rebalance started by another member
// meanwhile leaves the group without partitions until then (create the
// topic again, or restart the binding without it).
//
// A position the partition's log no longer holds is reset as Kafka's
// consumer applies auto.offset.reset. Before the log's first offset
// (records deleted by retention or DeleteRecords), the partition skips to
// the first one. Past its end — the topic was deleted and created again
// while the consumer ran, or the log lost its tail, or a committed offset
// is left over from such a topic — the position goes to the binding's
// start offset once three connections in a row (at least 100ms apart in
// all) found it so: the earliest offset for a named group (every record
// of the new log is delivered, none skipped), the latest for an anonymous
// consumer or start-offset latest (what was written before the reset is
// skipped). A WARN line names the topic, partition, old and new offset
// ("the partition's log no longer holds the position: topic re-created or
// truncated"). Records after the reset have lower offsets than those
// before it; they are handled and committed as any others, in every mode
// (batch, ordering: key, pipelined). kafka-go has no topic ids: a topic
// re-created and written past the position before the consumer fetched
// again cannot be told from the old one, and its records before the
// position are not read — delete a topic only with its consumers stopped
// (Kafka drops the group's committed offsets with the topic: they start
// at the earliest offset of the new one).
//
// # Fixed assignment
//
// With the consumer's auto-rebalance-enabled: false (SCSt's
// autoRebalanceEnabled), a binding with a group joins no group: it reads,
// of each of its topics, the partitions p with p % instance-count ==
// instance-index (the binding's consumer.instance-index and
// instance-count; every partition with instance-count 1), as SCSt's
// binder computes them. Each partition starts at the group's committed
// offset, else at the start offset (as a member's: see Consumer), and
// what is handled is committed to the group as a member's would be — at
// least once, with the same retries, dead letters, ordering, concurrency,
// Pause/Resume/Stop and lag — with Kafka's commits for consumers outside
// the group (generation -1, no member id). Kafka accepts those only while
// the group has no members: while another consumer is a member of the
// group every commit is refused, and the binding logs a WARN naming the
// reason and goes on (what it handled comes again after a restart). An
// instance-index outside [0, instance-count) is an error at bind; a topic
// without a partition for the instance is a WARN (SCSt refuses to bind),
// and the instance reads nothing of it until partitions are added: the
// partition watch (see New partitions) starts reading the partitions that
// fall to the instance without a restart (SCSt reads only those it found
// at start-up). An anonymous consumer ignores the setting, as SCSt's does,
// with a WARN.
//
// Two instances given the same instance-index (and instance-count) both
// read, handle and commit the same partitions: each of their messages is
// handled twice, none is lost, and nothing warns — the commits carry no
// membership, so neither the group nor the binder can tell the instances
// apart (SCSt does not either). The group's committed offset is whichever
// instance committed last, so it can move back, and a restart handles
// again what the faster instance had committed. Give each instance its own
// index.
//
// # Concurrency and ordering
//
// consumer.concurrency bounds the handler calls running at once across the
// partitions of a binding; by default, within a partition, messages are
// handled one at a time and in offset order, so a message is handled only
// after the one before it was acknowledged (a function binding's outputs
// are the exception: see Pipelined processing). Hence the processed prefix of
// a partition is always contiguous and committing it never skips an
// unprocessed message, and concurrency above the number of assigned partitions leaves slots
// idle (provisioning creates concurrency × instance-count partitions for a
// new topic for that reason; see Provisioning). A retried or Nak'ed message holds back its
// partition, and only its partition.
// When concurrency is below the number of assigned partitions, a
// partition's worker that has its next message already fetched keeps its
// handler slot for a turn of up to 128 messages or 2ms before another
// partition's worker gets it, rather than handing the slot over for every
// message (each hand-over wakes a goroutine); a failed handler call gives
// the slot up at once.
//
// With ordering: key (stream.kafka.bindings.<binding>.consumer.ordering;
// default partition), the messages of a partition are ordered per key
// instead, as with Confluent's parallel consumer, so that a topic with
// fewer partitions than concurrency (even one) uses every handler slot:
// each partition's messages go to a lane per record key (the shared
// dispatch pool), and up to concurrency workers handle them: a lane's
// messages one at a time in offset order, so messages of one key keep
// their order and messages of different keys run concurrently. Messages
// without a key all go to one lane, in order: nothing says they are
// independent. The partition's committed offset advances only over the
// contiguous prefix of handled messages (handled: acknowledged,
// dead-lettered, parked on a retry topic or dropped), never past an
// unhandled one; at most concurrency × queue-capacity messages of a
// partition are handed out beyond that prefix (its first unhandled message
// included). So a slow or Nak'ed message holds back its own key only up
// to that limit: once that many messages are out, the partition's other
// keys wait for it too, and a message that is never handled (Nak'ed for
// ever, a handler that hangs) stops the partition. When its intake has
// waited 30s for room, a WARN, one per such stall (not while paused, nor
// in a Stop or rebalance), names the topic, partition, offset and key of
// that message, whether it is being Nak'ed (and how often), concurrency
// and queue-capacity, and what to do: for a message that fails for good,
// return an error rather than stream.ErrNak so that retry-delays (a retry
// topic) or dlq settle it; raise queue-capacity to let more of the other
// keys pass it. After a crash the new owner starts at the prefix, so messages
// after it that were already handled come again (at least once, as
// always). Nak, retry and dead-lettering are those of one message, and
// hold back its key. Pause behaves as above (calls in flight finish,
// queued messages wait). Stop and rebalances let calls in flight finish
// and then handle the queued messages that are gaps in the prefix (those
// before the last message a lane started) while the wind-down allows
// (the handlers' context: Stop's deadline, half of rebalance-timeout), so
// that the commit passes every handled message; the messages after the
// last one started are not handled and not committed. A gap whose handler
// fails, or a paused binding, ends that: the commit stops before the
// first gap left. Not with batch-mode (a configuration error); retry topics keep
// per-partition order. With the default ordering, partition, concurrency
// above the partitions assigned to a consumer leaves slots idle, and a WARN
// line, logged once per Start, says so.
//
// Rebalances: when the group rebalances, intake stops, in-flight handler
// calls finish (their context is cancelled after half the rebalance-timeout),
// the processed offsets are committed, and the member rejoins. A commit
// that fails because the generation is gone is logged and not fatal: the
// new owner of the partition gets those messages again (a duplicate, never
// a loss) — unless the new owner is the same member and the group's
// committed offset has not moved since but by the member's own commits
// (say the coordinator's connection broke, or the cluster restarted, while
// the fetchers went on): it then goes on from where it had processed and
// commits that, rather than handling again everything it processed while
// its commits failed. Any other committed offset wins (an offset reset while
// the member was out of the group). Stop winds the generation down the
// same way and then leaves the group. Each generation's assignment and
// its end are logged at INFO, one line each ("kafka: partitions assigned"
// and "kafka: partitions revoked", with generation, member, partitions
// and, on the revocation, reason rebalance or stop), as Spring Kafka logs
// partitions assigned and revoked, so that a rebalance shows in the log
// (docs/operations.md, "Logs"). Close of the binder
// stops every consumer, then flushes every producer, bounded by its ctx,
// then ends the connections of its shared kafka-go transport and of its
// consumer groups and fetches (a request still waiting on the broker,
// such as a read_committed consumer's long-polling fetch, or leaving the
// group from a broker that stopped answering once Close's ctx ended,
// fails at once) and waits until kafka-go has closed them (at most 5s,
// or until its ctx ended and 250ms more: a Close whose consumers used the
// whole ctx still lets the connections it cut close):
// none of the binder's or kafka-go's goroutines outlive Close. A request on that transport after Close (a dead-letter
// cursor reading on, OpenDeadLetters) fails at once with an error naming
// the closed binder (stream.ErrClosed, never unavailable), as does one
// that Close cut short. A Close while another is closing the binder
// waits for it (bounded by its own ctx) and returns its result.
// Pause keeps the membership and assignment but hands out nothing; Resume
// goes on.
//
// consumer.batch-mode delivers the messages of one partition that are
// already fetched (up to batch-size) as one slice; a plain outcome applies
// to the whole batch, which is committed, redelivered or dead-lettered as
// one. A stream.BatchOutcome (the core's answer to stream.BatchFailedAt)
// dead-letters (or drops) only its failed records, each with its own
// cause; when it Naks the records from one on, those before are settled
// and the rest handled again, the batch committed once they are. The
// handled records before a failed one are committed at once, before its
// retries (stream.BatchSettler: the partition's processed prefix moves
// past them and the committer commits it), as Spring Kafka's
// DefaultErrorHandler does; a worker's batch is one partition's, so they
// are a contiguous prefix of it. A record that failed for good is
// dead-lettered (or dropped) and committed past with them before the
// records after it are handled (Spring Kafka's DefaultErrorHandler
// recovers it and commits past it). A dead letter held meanwhile is held
// as after the call: the call gives up its concurrency slot and its count
// in flight (Pause does not wait for it, other partitions go on) and takes
// them again, waiting while paused, before the records after it are
// handled; a generation that winds down while its
// dead letter is held commits nothing past it, even when the batch ends.
//
// consumer.partitioned / instance-index are not used: Kafka assigns the
// partitions among the group's members.
//
// # Pipelined processing
//
// A function binding whose input and output are Kafka bindings (or whose
// output's binder can send without waiting) is processed pipelined
// (consumer.max-in-flight, default 256; 1 turns it off): each partition's
// worker hands its next message to the function while the outputs of
// earlier ones are not yet confirmed, and the producer sends them through
// its produce loop without anyone waiting (SendAsync: the same record,
// size check, per-partition queue, retries and outage handling as Send).
//
//   - Window: at most max-in-flight messages of a partition are unfinished
//     (handed to the function, output not yet confirmed or failed) and at
//     most 2×max-in-flight unsettled (not yet committed); beyond that the
//     worker waits and gives its concurrency slot back. A slot covers a
//     function call and the hand-over of its output, not the wait for the
//     confirm, so consumer.concurrency still bounds the function calls at
//     once across the binding's partitions while every partition has its
//     own window of outputs in flight.
//   - Order: the function is called in offset order, one call at a time
//     per partition; the outputs are queued in that order and the
//     producer keeps one batch in flight per output partition, retrying a
//     failed batch (retriable errors, up to send-attempts) before anything
//     behind it — so outputs keep their inputs' order per partition and
//     key, also across such retries. Offsets are committed only over the
//     contiguous prefix of settled messages: a message's offset is
//     committed after its output was confirmed and after every message
//     before it in its partition was settled (acknowledged, dead-lettered,
//     parked on a retry topic or dropped).
//   - A failed send (send-attempts used up, or a refused destination): the
//     core Naks the input at once, while the outputs of later messages
//     already queued go on; the worker settles it when it is the oldest
//     unsettled message of the partition, waiting what is left of
//     redelivery-delay and handling it again synchronously (Handler: the
//     function re-run, with max-attempts and the back-off), later
//     messages already finished waiting behind it. A send refused for good
//     (a record over the topic's size limit) dead-letters the input. Its output can therefore come
//     after the outputs of later messages of the same key; set
//     max-in-flight: 1 where that must not happen. A failed function call
//     is retried in place before the next message is handed out, as
//     without pipelining; a failure for good dead-letters (or drops) it in
//     offset order.
//   - Stop, a rebalance (partitions lost) and Pause: nothing more is
//     handed out; the worker waits for the outstanding results — bounded
//     as handler calls are: half the rebalance-timeout on a rebalance,
//     Stop's context — and commits the contiguous prefix of settled
//     messages; the rest comes again to the partition's next owner
//     (duplicates, never losses). Pause returns only once every output of
//     the messages handed out was confirmed or failed, so nothing is
//     handled after it returned. A result that arrives after its worker
//     gave up is recorded and ignored.
//   - Not pipelined: consumers (no output), batch-mode, idempotent
//     bindings, ordering: key (its lanes give concurrency instead) and
//     retry topics (their messages wait until due, one at a time): these
//     call the handler one message at a time as described above.
//
// Throughput (BenchmarkPipelineKafka, shape (c) of issue 10: a 3-partition
// topic of 100-byte records through a []byte → []byte function to a
// 3-partition topic, timed until every input is committed, against a raw
// kafka-go consume-transform-produce loop; in-process kfake broker on a
// 2-core machine shared with other work, so the spread is wide):
//
//	go test -run '^$' -bench 'BenchmarkPipelineKafka$' -benchtime 20000x -count 3 ./binder/kafka/
//
// Sequential (before pipelining; load average 2): App/raw 0.032–0.040,
// 12,100–13,900 msgs/s against raw's 322,000–383,000. Pipelined (default
// max-in-flight; four runs of -count 3, load average 4–5 from other
// benchmarks): App/raw 0.48–1.11, median 0.66; 94,000–219,000 msgs/s
// against raw's 136,000–306,000. The App uses about 1.6–2× raw's CPU per
// message (the core's decoding, header maps and retry bookkeeping, the id
// header of every record), so where the two cores are busy it is
// CPU-bound and falls behind raw, which waits on the broker more.
//
// # Errors
//
// Kafka errors are classified once, for every path (sends, dead letters,
// start-up), by one rule: permanent means the message is at fault; a
// destination that is missing or forbidden is the binding's fault:
// transient, and readiness shows the binding down.
//
//   - permanent — the message is at fault: MESSAGE_TOO_LARGE,
//     RECORD_LIST_TOO_LARGE (size limits), INVALID_RECORD. Never retried: a
//     send returns it wrapped with stream.Permanent, and the core
//     dead-letters or drops the input.
//   - refused — the binding is at fault: TOPIC_, GROUP_, CLUSTER_ and
//     TRANSACTIONAL_ID_ AUTHORIZATION_FAILED, SASL_AUTHENTICATION_FAILED
//     (authorisation); INVALID_TOPIC_EXCEPTION, INVALID_REQUIRED_ACKS,
//     UNSUPPORTED_FOR_MESSAGE_FORMAT, UNSUPPORTED_COMPRESSION_TYPE,
//     POLICY_VIOLATION (names and settings); and a topic that does not
//     exist while auto-create-topics is off. A send returns it as a
//     transient error: the core retries it (max-attempts, back-off) and
//     then leaves the input for redelivery, which comes after
//     redelivery-delay — with the core's default retries a handler runs a
//     few times a second at most for such an input, and at most once per
//     redelivery-delay without retries. The producer binding reports
//     itself down meanwhile (see Producer). A dead letter refused so is
//     dropped and counted (see Dead letters always fit); a bind refused so
//     fails start-up at once.
//   - transient, retried with back-off: everything else — lost or refused
//     connections, leader changes (NOT_LEADER_OR_FOLLOWER,
//     LEADER_NOT_AVAILABLE), NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, a
//     coordinator that moved or is loading.
//
// # Start-up
//
// The binder follows the app's start-up rule: a BindProducer or
// BindConsumer that could not reach the cluster — connection refused or
// timed out (dial-timeout), DNS failure, connection reset or closed (not
// while SASL is on: a broker closes the connection on bad credentials), no
// live broker, leader or coordinator — fails within the dial timeout (or
// ctx) with an error wrapped with stream.Unavailable, and the app retries
// the bind with back-off until stream.binders.<name>.startup-timeout
// (default 60s; readiness is 503 meanwhile). What the broker answered
// (authorisation or authentication failure, an invalid replication factor
// or topic name, a missing topic with auto-create-topics off) and TLS
// failures are not wrapped: start-up fails at once, naming it.
//
// A client whose security settings do not match the listener sees a
// closed or silent connection, like an unreachable broker. When a bind
// fails so, the binder asks the broker on connections of its own (no
// credentials sent; within the bind's context and dial-timeout, 2s at
// most): one that answers in plain Kafka while TLS is on, one
// that speaks TLS while TLS is off, and one that lists its SASL mechanisms
// while SASL is off are configuration errors: start-up fails at once, and
// the error names the mismatch. When the broker shows nothing certain, the
// error is classified as above.
//
// # Health and lag
//
// Health (binder_up, readiness) reports the answer of a background probe,
// started with the first binding: every health-interval (2s) it asks the
// cluster for metadata on a connection of its own, opened for that
// request and bounded by health-timeout (3s) — not kafka-go's metadata
// cache, which keeps serving what it once knew while the cluster is gone.
// A cluster that stops is reported down within health-interval (refused
// connections) or health-interval + health-timeout (a cluster that no
// longer answers), and up again within health-interval of its return. A
// binder without bindings is up. With auto-create-topics off the probe
// also asks for the producers' topics, without creating them: a producer
// binding whose topic is gone reports itself down (see Producer) until
// the probe finds it again. A producer binding whose topic refused a send
// (authorisation) reports itself down until a send succeeds.
//
// Lag (stream.LagReporter, the consumer lag metric) is, for every
// partition assigned to the consumer, the partition's end offset minus the
// consumer's position (the offset after the last message it finished:
// what it commits). The end offset is the high-water mark of the
// partition's last fetch answer (an idle partition's empty answer too,
// every max-wait); for a partition whose fetcher gave none within
// lag-interval (2s) plus max-wait — its queue is full behind a stuck
// handler, or its broker is slow — it is asked of the cluster every
// lag-interval (each request bounded by health-timeout; kafka-go sends a
// ListOffsets request per partition), so a partition whose handler is
// stuck shows its real lag. An idle or flowing consumer asks nothing.
// Under read_committed the end is still the high-water mark, as
// kafka-consumer-groups.sh counts it (the Java consumer's records-lag
// counts to the last stable offset): the records of a transaction still
// open show as lag until it ends.
//
// # Provisioning
//
// Binding a producer or consumer makes sure its topics exist: created with
// max(partition-count, min-partition-count) partitions for a producer and
// max(concurrency × instance-count, min-partition-count) for a consumer, and
// replication-factor replicas (SCSt's rule). The consumer's count holds
// with ordering: key too, although its handler slots share a partition:
// more partitions cost nothing at creation, leave room for more instances,
// and keep the topic an SCSt app would create. A consumer with dlq also
// provisions its dead-letter topic with as many partitions as its source
// topic. A topic the binder creates gets the binding's topic.properties
// as its topic configurations (cleanup.policy, retention.ms ...; a
// dead-letter topic those of dlq-producer-properties.topic.properties,
// retry topics none), as SCSt's provisioner gives them to NewTopic; the
// broker checks their names and values, and start-up fails with its error
// for a wrong one. As in SCSt (whose auto-alter-topics: true is refused
// here), an existing topic's configurations are left as they are,
// whatever topic.properties say: alter them with kafka-configs --alter.
// topic.replicas-assignments is refused: create a topic with placed
// replicas beforehand, and the binder uses it as it is. An existing topic
// with fewer partitions than a binding needs gets
// more (up to min-partition-count too) when auto-add-partitions is on
// (which moves keys to other partitions); otherwise it is an error for a
// producer whose partition-count exceeds them, and a consumer logs an INFO
// line that some handler slots stay idle (with ordering: key, whose slots
// share a partition, only when the topic has fewer partitions than
// instance-count). Without auto-add-partitions min-partition-count applies
// only to topics the binder creates, as in SCSt: an existing topic with
// fewer partitions is left as it is, with a WARN naming the binding, the
// topic, both counts and the keys. A topic with more partitions than a partitioned
// producer's partition-count is written to all of them: the partition of a
// key is selected among the topic's count at bind (logged at INFO), as SCSt's
// Kafka binder does ("the larger number will be used instead"), so that
// a key goes where an SCSt producer of the topic sends it. With
// auto-create-topics false, a missing
// topic is a start-up error naming it, not retried (see "Start-up" in
// docs/conventions.md). A topic that looks missing, or short of
// partitions, in kafka-go's metadata cache (refreshed every 2s) is checked
// with a metadata request of its own first, so a topic created or grown
// outside the binder just before a bind is found.
//
// # Configuration
//
// Binder settings are read from stream.kafka.binder and then
// stream.binders.<name>.environment (which wins); keys are kebab-case,
// camelCase is accepted, and an unknown key is an error naming its path
// and listing every key accepted there, with a did-you-mean (the lists
// come from the tables of keys.go, which a test checks against the
// decoders) (values are read as package binder/props describes; a
// duration is a Go duration or a number of milliseconds):
//
//	brokers: localhost:9092        # comma-separated or a list (alias bootstrap-servers); host[:port], or scheme://host[:port] as Java reads it
//	default-broker-port: 9092      # added to a broker given without a port
//	client-id: streambind
//	required-acks: all             # all | 1 | 0
//	auto-create-topics: true
//	auto-add-partitions: false
//	min-partition-count: 1
//	replication-factor: -1         # -1: the broker's default
//	dial-timeout: 10s              # connections and admin requests; request.timeout.ms's default (a fetch's answer is awaited max-wait plus it)
//	heartbeat-interval: 1s         # consumer group heartbeats (rebalances are noticed this fast)
//	session-timeout: 10s
//	rebalance-timeout: 10s
//	close-timeout: 5s              # longest wait on Stop for leaving the group, and for the dead letters being written
//	health-interval: 2s            # between health probes (at least 100ms)
//	health-timeout: 3s             # bound of each health probe and lag request (at least 100ms); a bare number is seconds, as SCSt's healthTimeout
//	lag-interval: 2s               # between end-offset reads for the lag, for partitions whose fetches brought none lately (at least 100ms)
//	metrics:                       # SCSt's section
//	  offset-lag-metrics-interval: (lag-interval) # the same setting as lag-interval
//	  default-offset-lag-metrics-enabled: true    # only true: the lag is always computed
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
//	configuration: (none)          # Kafka client properties for producers, consumers and connections (see Kafka client properties)
//	consumer-properties: (none)    # Kafka client properties for every consumer
//	producer-properties: (none)    # Kafka client properties for every producer
//
// A broker address (brokers, or bootstrap.servers in configuration) is
// host[:port] or, as Java's client accepts it, <scheme>://host[:port]
// (PLAINTEXT://kafka:9092, SSL://, SASL_SSL://, SASL_PLAINTEXT://, or a
// listener name such as INTERNAL://kafka:29092); user info (user:pass@)
// and paths are refused, the address never echoed with them; so are a
// port outside 1-65535, a port given twice (kafka:9092:99, [kafka:9092]:99)
// and an empty list ("is empty"), at their key when the configuration is
// read, not retried as an outage. As for Java's
// client, the scheme does not choose the security: tls and sasl (or
// security.protocol in configuration) do. A scheme that asks for what is
// not configured (SSL:// or SASL_SSL:// without TLS, SASL_PLAINTEXT:// or
// SASL_SSL:// without SASL) is a start-up error at the key that gave the
// address, naming the setting to give, not a plain-text connection to a
// TLS or SASL listener; one that asks for less (PLAINTEXT:// with TLS
// configured) is logged as a warning, and the connection is as
// configured. A listener name is not checked.
//
// Producer properties, stream.kafka.bindings.<binding>.producer (or
// stream.kafka.default.producer):
//
//	batch-timeout: 0               # linger before a write; 0: write at once (natural batching)
//	batch-size: 1000               # most messages per write
//	batch-bytes: 1048576           # most bytes per write, and the largest record (bytes, or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it)
//	buffer-size: (none)            # bytes grouped into one write (Kafka's batch.size), without limiting a record's size
//	compression: none              # none | gzip | snappy | lz4 | zstd (alias compression-type)
//	write-timeout: 10s             # per write attempt
//	send-attempts: 10              # attempts per batch for retriable errors
//	message-key-expression: (none) # the record key, in the core's SpEL subset over payload and headers (payload.customer.id, headers['k']); wins over the message's key
//	header-patterns: "*"           # which of the message's headers go on the record: comma-separated simple patterns (* wildcard, ! negates), the first match decides, case aside; no match: not written ("!secret*,*": all but secret*); the patterns never map id and timestamp, as in SCSt: the record's id (de-duplication key) is written regardless, a timestamp header never
//	configuration: (none)          # Kafka client properties of this producer
//	topic:
//	  replication-factor: (none)   # of the topic if this binding creates it; default: the binder's
//	  properties: (none)           # topic configurations (cleanup.policy: compact, retention.ms ...) of the topic if this binding creates it; an existing topic is not altered
//
// Consumer properties, stream.kafka.bindings.<binding>.consumer:
//
//	start-offset: ""               # earliest | latest; default: earliest for a group, latest for anonymous
//	reset-offsets: false           # ignore committed offsets on the first assignment
//	enable-dlq: false              # SCSt's spelling of the binding's consumer.dlq, moved there by the configuration loader
//	dlq-name: ""                   # default error.<destination>.<group>
//	dlq-partitions: (none)         # partitions of a dead-letter topic this binding creates (min-partition-count still applies); default: the source topic's. 1: every dead letter goes to partition 0, else to its record's partition (mod the topic's count)
//	dlq-producer-properties: (none) # the dead-letter writer's producer properties: compression, send-attempts, write-timeout, configuration (acks ...)
//	max-wait: 500ms                # longest fetch wait when there is no data (fetch.max.wait.ms)
//	max-bytes: 10485760            # largest fetch response (bytes, or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it)
//	queue-capacity: 256            # messages fetched ahead per partition
//	batch-size: 500                # largest batch in batch mode
//	redelivery-delay: 100ms        # before a Nak'ed message is handled again
//	ordering: partition            # partition | key: what is handled one at a time, in order (see "Concurrency and ordering")
//	auto-rebalance-enabled: true   # false: a fixed assignment, the partitions p with p % instance-count == instance-index, without joining the group (see "Fixed assignment")
//	configuration: (none)          # Kafka client properties of this consumer
//	topic:
//	  replication-factor: (none)   # of the topics this binding creates; default: the binder's
//	  properties: (none)           # topic configurations (retention.ms ...) of the topics this binding creates (not of its retry topics; its dead-letter topic takes dlq-producer-properties' topic.properties); an existing topic is not altered
//
// # Kafka client properties
//
// Spring Cloud Stream passes Kafka's own client properties through maps,
// and so does the binder: stream.kafka.binder.configuration (producers,
// consumers and the connections: bootstrap.servers, client.id,
// security.protocol, sasl.*, ssl.* are read only there),
// stream.kafka.binder.consumer-properties and producer-properties, and a
// binding's consumer.configuration or producer.configuration (and a
// consumer's dlq-producer-properties.configuration). Precedence is SCSt's:
// a binding's configuration over the binder's consumer-properties or
// producer-properties over the binder's configuration over the typed keys
// above — except start-offset, which wins over auto.offset.reset. Every
// property kafka-go can honour is mapped onto the settings above
// (fetch.max.wait.ms is max-wait, linger.ms batch-timeout, acks per
// producer, sasl.jaas.config with a PlainLoginModule or ScramLoginModule
// line, PEM trust and key stores ...). The Java client's own tuning, which
// kafka-go does its own way (retry.backoff.ms, reconnect.backoff.ms,
// metadata.max.age.ms, connections.max.idle.ms, client.dns.lookup,
// buffer.memory, allow.auto.create.topics, delivery.timeout.ms), and what
// the binder cannot provide but what does not change delivery
// (group.instance.id: no static membership, a restart is a rebalance;
// partition.assignment.strategy: kafka-go's range and round-robin
// balancers; enable.idempotence: true, the Java default since Kafka 3.0:
// a retried write can store a record twice, at least once as with false)
// are accepted and ignored: the configuration loader warns of each at its
// file:line, saying why (props.IgnoredKafkaClientProperty). Every other
// one is an error naming its key path and the reason — exactly-once
// transactions (transaction.transaction-id-prefix, transactional.id),
// Java (de)serializers other than Kafka's byte-array and string ones
// and Spring Kafka's JSON, StringOrBytes and error-handling ones (which
// the loader accepts with a warning, as the spring.json.* and
// spring.deserializer.* settings of Spring Kafka's (de)serializers), JKS
// stores, Kerberos among them — so that a configuration never runs
// without something it asked for. docs/conventions.md has the full table.
//
// Topics a transactional producer writes (a Java service with
// transaction-id-prefix, Kafka Streams exactly-once, Flink, NiFi) are
// read as the Java consumer reads them: transaction markers never reach a
// handler, and with isolation.level read_committed neither do the records
// of aborted transactions (read_uncommitted, the default, hands them out).
// The committed offset and Lag go past the skipped offsets, so an idle
// consumer of such a topic shows no lag and a restart fetches nothing
// again. kafka-go's connection reader tells neither apart (it hands a
// marker out as a 6-byte record): a read_committed partition, and a
// partition from the first record shaped like a marker on (for the rest
// of the generation), is fetched through kafka-go's protocol layer over
// the binder's shared transport instead, which sees each batch's
// attributes and the fetch answer's aborted transactions; a real record
// of that shape is handed out as usual. The protocol layer reads a fetch
// answer whole before its records are queued (the connection reader
// streams it as the queue takes them): such a partition holds up to
// max-bytes of fetched records beside its queue, so with many of them
// lower max-bytes (the Java client fetches 1 MiB a partition). The
// binder cannot write transactions itself (see above).
//
// The dead-letter store of streambind dlq (OpenDeadLetters) reads the
// same way, read committed, whatever the binding's isolation.level (a
// dead letter whose transaction was rolled back was never sent): a
// dead-letter topic written in transactions (a Java service with
// transaction-id-prefix sends its dead letters in its transactions) lists,
// counts and replays only its committed dead letters, and removing them
// moves the group's committed offset over the markers and aborted records
// between and after them, to the end of the partition; a claiming cursor
// (replay, purge) that reads a partition to its end commits past those
// even when it removed nothing there (only aborted transactions), up to
// the first dead letter kept. The dead letters removed behind a kept one
// (a filtered replay) are listed in the commit's metadata as ranges of
// offsets ("streambind-dlq-removed:7,9-12"), a range spanning the markers
// and aborted records between removed ones: those removed one after the
// other behind a kept one are one range however many (a million as well
// as ten; a Remove costs the same), and the list is read without being
// expanded. What fills the list is many kept dead letters between removed
// ones: a Remove whose list would pass 4000 bytes (the broker keeps
// offset.metadata.max.bytes, 4096 by default) fails, the dead letter
// staying (a replay sent its copy; the next replay sends it again), until
// the kept ones before it are replayed or purged. A list of more than
// 2^20 ranges (written by no streambind) makes opening the dead letters
// fail rather than return those listed again.
//
// SCSt's own typed Kafka keys that have no setting above are accepted when
// the binder does what they ask anyway (headers, ack-each-record,
// auto-commit-offset true, ack-mode other than MANUAL, sync,
// auto-commit-on-error (SCSt applies it to pollable consumers only; false
// is dropped by the loader with a warning), auto-alter-topics false,
// reactive-at-most-once and reactive-auto-commit false,
// tx-commit-recovered true ...) and refused
// with the reason otherwise (manual
// acknowledgment, a fixed partition assignment, topic patterns, bean
// names ...); the binder's jaas section is the older form of
// sasl.jaas.config; and a binder's environment may hold SCSt's
// spring.cloud.stream.kafka.binder.* and Spring Boot's spring.kafka.*
// connection keys (see scstenv.go), as SCSt's multi-binder configurations
// do.
//
// Dead letters are written one record per batch and fitted to the topic's
// max.message.bytes, so of dlq-producer-properties only compression,
// send-attempts (retries), write-timeout (request.timeout.ms) and acks
// change anything.
package kafka
