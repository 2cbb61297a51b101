// Package rabbit is streambind's RabbitMQ binder (binder type "rabbit"), on
// github.com/rabbitmq/amqp091-go. Register it with
// stream.WithBinderType(rabbit.Type, rabbit.New).
//
// # Topology (docs/conventions.md, SCSt-compatible names)
//
// Declared idempotently when a binding is bound, and again after every
// reconnection (each exchange and queue name below starts with the
// binding's prefix, and the default DLX is <prefix>DLX: see Prefix; routing
// and binding keys do not):
//
//   - destination → durable topic exchange (not auto-delete; exchange-type
//     changes the type).
//   - group → durable queue <destination>.<group> bound with "#"
//     (binding-routing-key changes it); a partitioned consumer binds
//     <destination>.<group>-<instance-index> with key <destination>-<instance-index>.
//     The queue's x-arguments are SCSt's (see Consumer properties). With
//     durable-subscription: false the queue is non-durable and auto-delete
//     (the broker deletes it when its last consumer goes), so are the wait
//     queues of retry-delays non-durable (not auto-delete: nothing
//     consumes them; one that exists durable, as a release before
//     2026-12-07 declared it, is used as it is, with a WARN: see the
//     refused declarations below), and with dlq
//     it is as an anonymous consumer's: the x-dead-letter-* arguments, but
//     no DLQ (nor the DLX) declared for it, as SCSt's provisioner does.
//     A producer's required-groups declares that queue durable: the two
//     declarations clash (PRECONDITION_FAILED), as with SCSt.
//   - anonymous consumer → exclusive auto-delete queue
//     <destination>.anonymous.<random id> (anonymous-group-prefix replaces
//     "anonymous."), declared by Start, bound as an unpartitioned queue
//     (binding-routing-key, else "#") also when partitioned: it gets every
//     partition's messages, as SCSt's provisioner binds it (partitioned
//     applies to a named group only). With dlq it has the
//     x-dead-letter-* arguments a group's queue has (the DLX, and
//     dead-letter-routing-key or its own name), as SCSt declares it, but
//     no DLQ (nor the DLX) is declared for it: a failed message goes to
//     the DLX with that key as a group's does (see Consumer: republished
//     with the x-exception-* headers, or with republish-to-dlq: false
//     dead-lettered by the broker), to a queue bound there with that key,
//     if any, else it is dropped (one ERROR line per message). The user
//     declares the DLX and binds a queue to it (see the example below).
//   - dlq: true (SCSt's auto-bind-dlq; named groups, durable-subscription
//     true) → the group's queue
//     has x-dead-letter-exchange DLX and x-dead-letter-routing-key <its
//     name>; durable direct exchange DLX and durable queue
//     <destination>.<group>.dlq bound with key <queue name>.
//   - producer required-groups → the queues <destination>.<group> bound with
//     "#" (what non-partitioned consumers use); when the producer is
//     partitioned, SCSt's per-partition queues <destination>.<group>-<p>
//     bound with <destination>-<p>. With the producer's auto-bind-dlq, with
//     the consumers' x-dead-letter-* arguments and DLQ.
//
// An anonymous consumer's dead letters (dlq, no group): as the default
// dead-letter routing key is the anonymous queue's name, new at every
// start, set dead-letter-routing-key (SCSt's deadLetterRoutingKey) to a
// fixed key, declare the DLX (<prefix>DLX, a direct exchange, or
// dead-letter-exchange) and bind a queue to it with that key, once, with
// the broker's tools:
//
//	stream:
//	  bindings:
//	    audit-in-0:
//	      destination: orders # no group: an anonymous consumer
//	      consumer:
//	        dlq: true
//	  rabbit:
//	    bindings:
//	      audit-in-0:
//	        consumer:
//	          dead-letter-routing-key: orders.audit-anon
//
//	rabbitmqadmin declare exchange name=DLX type=direct durable=true
//	rabbitmqadmin declare queue name=orders.audit-anon.dlq durable=true
//	rabbitmqadmin declare binding source=DLX destination=orders.audit-anon.dlq routing_key=orders.audit-anon
//
// streambind tail --exchange DLX --routing-key orders.audit-anon prints
// them as they arrive; streambind dlq, which reads a group's DLQ, says
// where they go.
//
// A declaration the broker refuses ("inequivalent arg") is a
// [*TopologyError] naming the entity and the differing argument: RabbitMQ
// keeps what a queue or exchange was first declared with, so a property
// changed between two deployments (dlq, ttl, max-length, quorum,
// exchange-type …) fails the bind until the queue is deleted or the property
// set back. One exception: a retry-delays wait queue that exists with the
// other durability (a release before 2026-12-07 declared them all
// durable; with durable-subscription: false they are non-durable now) is
// declared again, on a new channel, with the durability it has, and used:
// its messages still come back to the group's queue when their delay ends.
// One WARN per wait queue and consumer names it and the migration (delete
// it once empty: rabbitmqctl delete_queue --if-empty; the binder then
// declares it as configured at its next declaration). Its other arguments
// are compared as ever: a difference there fails the bind.
//
// Bindings are only ever added, as in SCSt: a binding-routing-key
// changed since an earlier deployment binds the queue with the new key and
// leaves the old binding in place (the queue still gets what it matches);
// remove it with rabbitmqadmin or the management UI. So does a group made
// partitioned: its queue of before, <destination>.<group>, stays bound with
// "#" and keeps every message, read by no one; a partitioned consumer's bind
// logs a WARN when that queue exists (drain it and delete it).
//
// # Producer
//
// Messages are persistent; headers map to AMQP string headers (but CC and
// BCC, which RabbitMQ takes as routing keys and refuses as text: they are
// left out, with one WARN per binding; an output inherits them from an
// input published with them), the content
// type to the content_type property and the contentType header, the id
// header to message_id (else a generated id), Envelope.Key to the
// x-streambind-key header (moved back into Key on receipt). A content type
// or id over 255 bytes (legal in a header, not in a short-string property)
// stays in its header and leaves the property empty; on receipt the header
// wins over the property. A partitioned
// message (scst_partition header) is routed with <destination>-<partition>,
// others with routing-key (default: the destination). Publishing is
// mandatory: a message no queue takes is returned and Send fails with
// [ErrUnroutable] (mandatory: false opts out). It is transient (a queue may
// be bound later), so while no queue is bound to the destination at all
// every send fails and a function's input is redelivered for ever: set
// required-groups, whose queues the producer declares before its first
// send (streambind lint warns of a mandatory producer that has none and
// no consumer among the services it is given). For a partitioned message
// the error names the partition, its routing key and the queue missing
// (<destination>.<group>-<p>, which the group's consumer of partition p
// declares and binds, and required-groups for every partition). Send
// returns once the broker confirmed the message; a nack is [ErrNacked].
//
// AMQP properties as headers, as SCSt's binder maps them (Spring AMQP's
// header mapper). A delivery's properties that are set reach the handler
// as amqp_contentEncoding, amqp_correlationId, amqp_replyTo, amqp_type,
// amqp_appId, priority (as text; none for 0), amqp_expiration,
// amqp_receivedUserId and amqp_timestamp (Unix milliseconds), each unless
// the message has a header of that name itself; a message without them
// gets none (nothing is allocated for them). So a routing-expression on
// headers['amqp_type'] routes by the type property. amqp_messageId is not
// added (the id header has message_id). Every live delivery also has the
// received headers SCSt's handler gets (spring-integration-amqp's
// DefaultAmqpHeaderMapper): amqp_receivedExchange (also "", the default
// exchange), amqp_receivedRoutingKey (when not empty),
// amqp_consumerQueue, amqp_redelivered ("true"/"false") and
// amqp_consumerTag (consumer-tag-prefix's <prefix>#<n>, else the
// broker's tag). A header amqp_receivedExchange, amqp_receivedRoutingKey
// or amqp_redelivered that the message carries wins over the binder's
// value, as in Spring's mapper (which maps the message's own headers over
// those three); the binder's amqp_consumerQueue and amqp_consumerTag win
// over the message's, as Spring's mapper adds them last. Expressions read
// them the same way; stream.Received holds the binder's values. A message back from
// a retry-delays wait queue (through the default exchange, routed by the
// queue's name) reads the exchange and routing key it was first received
// with, which its parked copy carries as x-streambind-received-exchange
// and -routing-key (removed before the handler). Not amqp_deliveryTag
// (the binder settles every delivery itself: Spring's tag is for a manual
// ack on its amqp_channel, which has no counterpart here),
// amqp_receivedDeliveryMode or amqp_lastInBatch. A dead letter read
// through the DeadLetterStore has none of them. A producer sends no amqp_* header, as Spring AMQP's
// outbound mapper does not: amqp_correlationId, amqp_replyTo, amqp_type,
// amqp_appId, amqp_contentEncoding, amqp_expiration and amqp_userId set
// those properties, and a priority header that reads as 0-255 sets the
// priority (and goes as a header too). An amqp_expiration or amqp_userId
// RabbitMQ refuses is not dropped but refused before publishing, that
// message alone, with a permanent error naming the header (as one too
// large is): an expiration that is not a TTL the broker accepts (whole
// milliseconds, 0 to ten years, 315360000000; an optional sign, as
// RabbitMQ reads it: "+5" and "-0" pass, "-5", "abc", " 5", "1.5" do not;
// blank sets none), a user_id other than the user the binder connects as
// (RabbitMQ compares them exactly; a user with RabbitMQ's impersonator tag
// may name another, the binder refuses it all the same). Spring maps both
// whatever their text and the broker closes the channel (406
// PRECONDITION_FAILED), which loses the confirms of every message in
// flight on it; unlike priority, which Spring maps only from an Integer,
// dropping them would send the message without the TTL or user asked for.
// With addresses of different users the user is not known beforehand: the
// broker's closure, which quotes the value, fails the message that has it
// alone, at once, and the others in flight are published again. A
// function's output inherits
// amqp_correlationId, amqp_replyTo, amqp_type, amqp_appId and
// amqp_expiration from its input (docs/conventions.md), so a
// request/reply keeps its correlation_id and reply_to through a hop, as
// in SCSt. A dead letter or retry copy is the original message again: its
// properties, its own amqp_* headers, none of those added. A delivery's
// header values that are not strings (a Java producer's Integer, Boolean,
// Double, Long) reach the handler as text and are kept in their AMQP
// types in stream.Envelope.NativeHeaders; a function's output that keeps
// such a header unchanged sends it in that type again, as SCSt passes the
// header object through (a changed one goes as its new text).
//
// A message the broker would refuse is not published, and Send fails with a
// permanent error (stream.Permanent, so the core does not retry it and
// dead-letters the input): [ErrTooLarge] when its properties and headers
// encode to more than one frame holds (AMQP sends them in a single
// content-header frame: the connection's negotiated frame_max − 8 bytes;
// the broker would close the whole connection with FRAME_ERROR) or its
// payload exceeds max-message-size (the broker would close the channel with
// PRECONDITION_FAILED); likewise a name, header name or short property over
// 255 bytes, which amqp091-go cannot encode (it would close the connection).
// See "Errors" for the other permanent failures.
//
// When the destination exchange is deleted while the app runs, the next
// Send that meets 404 NOT_FOUND for it declares the binding's topology again
// (the exchange and its required-groups queues, and the bindings of this
// binder's running consumers of that exchange, which went with it) and
// publishes once more. If that is not possible (no configure permission, or
// declare-exchange: false), Sends fail with a transient error, the binding
// reports itself down in readiness (it implements
// stream.BindingHealthChecker) and declaring is tried again at most once a
// second, until a Send succeeds. Likewise when the broker refuses
// publishing to the exchange (403 ACCESS_REFUSED: no write permission): a
// destination that is missing or forbidden is the binding's fault, not the
// message's, so the Send's error is transient (the core leaves the input
// for redelivery after redelivery-delay) and the binding is down until a
// Send succeeds.
//
// Confirms are pipelined: the binder publishes over publisher-channels
// channels ("lanes") of a publisher connection of its own; concurrent
// Sends share a lane and publish on it directly (amqp091-go serialises a
// channel's publishes; no lock is held while a Send waits for its
// confirm), at most confirm-window messages per lane are unconfirmed, so N
// concurrent senders need about one round trip per window, not per
// message. Two lanes are the default. Sends take the lanes in turn, so
// more lanes serve more concurrent senders: with 64 of them
// (BenchmarkRabbitPublishConcurrent, broker on the same 2 cores) two
// lanes sent the most of 1, 2 and 4 at every load measured
// (docs/benchmarks.md); four sent more than one on a quiet machine and
// less under heavy load, where the broker's channel processes compete
// with the clients for the 2 cores. A broker on cores of its own gains
// from more channels. A lane is a channel: the default costs the broker
// one more channel per binder than one lane, and changes no order a
// caller can see (see "Concurrency and ordering"). Dead letters and
// retry-queue copies go on one more channel of their own, so that a
// refused one (the broker closes its channel) does not disturb the Sends
// in flight. While the broker blocks the connection (a memory or disk alarm)
// Sends wait, bounded by their ctx, and then fail; none is dropped. One
// caveat: amqp091-go sets no write deadline, so a publish already writing
// when the alarm begins, with enough bytes to fill the socket buffer
// (large messages), waits for the alarm to clear while holding the
// connection's writer; Sends that passed the alarm check before it began
// wait with it, while later ones fail when their ctx ends. Outside an
// alarm the binder bounds each write by its progress: a write the socket
// takes no byte of for a whole heartbeat interval fails (between one and
// two heartbeats after the socket last took bytes), however long a slow
// link that moves takes to carry it. On a path that stalls (the socket
// stays open and takes no more bytes) the connection is made again and
// the Sends waiting behind the write go on on the new one, rather than
// waiting for the path to come back. The bound starts again when an
// alarm ends.
//
// # Consumer
//
// Manual acks: a message is acked after its handler returned nil (with any
// output send confirmed). The core's retries run inside the handler; the
// binder settles the result:
//
//   - Nak (stream.ErrNak, or a handler interrupted by Stop): the delivery is
//     held for redelivery-delay (default 100ms, as on the Kafka binder), then
//     nacked with requeue, so a message that keeps failing is handled about
//     once per redelivery-delay rather than thousands of times a second. The
//     worker waits meanwhile — the next messages of its partition or key
//     come after the held one; other workers go on — and the held delivery
//     still counts toward prefetch. The hold is not a handler call: Pause
//     does not wait for it, and it stays held for the rest of
//     redelivery-delay after Pause returned, nacked then (a pipelined
//     worker's is nacked at once as the Pause begins: see below); Stop (and
//     Close) cut it short and nack at once.
//     redelivery-delay: 0 requeues at once.
//   - Term (any other error): with dlq, published (confirmed) to DLX with the
//     x-exception-* headers and x-original-exchange / x-original-routingKey,
//     routing key the queue's dead-letter routing key, and only then acked
//     (SCSt's republish-to-dlq). It is the received message again, as
//     SCSt republishes the raw AMQP message: it keeps the original's
//     message_id, timestamp, content_type, content_encoding,
//     correlation_id, reply_to, type, app_id and priority properties as
//     received, none added (no generated message_id, no default content
//     type, no id or contentType header made from them), delivery_mode
//     from republish-delivery-mode, without user_id (as SCSt's) and a
//     correlation_id that is only whitespace (Spring AMQP reads none), and
//     without expiration, which SCSt's keeps: the dead letter would expire
//     from the DLQ with the original's TTL, dropped unseen, so it goes as
//     the broker's dead-lettering sends it, the value kept in
//     x-streambind-original-expiration (the broker keeps it in x-death's
//     original-expiration; a retry-delays copy, without expiration too,
//     carries it to its dead letter); the
//     time it was dead-lettered goes in x-streambind-dead-lettered-at
//     (a retry-delays copy keeps content_encoding to priority, its
//     message_id, timestamp and content_type, none added, and its
//     headers' AMQP types too). The
//     original's headers keep their values and AMQP types as received, as
//     SCSt's do (an scst_partition string stays one): its x-death array goes on
//     (without the entries of the consumer's retry-delays wait queues),
//     so the broker counts on in it when the DLQ dead-letters the
//     message back (dlq-ttl with dlq-dead-letter-exchange); with dlq and
//     republish-to-dlq: false,
//     rejected without requeue, so that the broker dead-letters it through
//     the queue's x-dead-letter-* arguments (an x-death header, no
//     x-exception-*); without dlq, rejected without requeue (dropped).
//     An anonymous consumer with dlq does the same (as SCSt's binder,
//     whose republisher does not depend on the group), to the DLX and
//     dead-letter routing key of its queue's arguments; as no DLQ is
//     declared for it, a republished dead letter that reaches no queue
//     (returned as unroutable, or no DLX) is dropped at once — counted
//     (DeadLetterStats), with an ERROR line, the delivery rejected and
//     the broker's dead-lettering dropping it too — never retried or
//     requeued, where a group's DLX and DLQ are declared again.
//     A message whose x-death header another client made malformed (an
//     element that is not a table, a count that is no number), or whose
//     x-death amqp091-go could not decode (replaced by a text, see below:
//     the broker still has it), is never rejected: RabbitMQ's dead-lettering crashes the queue on it, and
//     the message is lost with the queue's messages not yet persisted.
//     With dlq it is republished (as with republish-to-dlq; its x-death
//     as text, which the broker replaces should it dead-letter it again),
//     without dlq acked, each with a WARN.
//     requeue-rejected: true requeues failed messages instead, after
//     redelivery-delay (SCSt's option): each such failure is counted in
//     the binding's errors (not as dropped or dead-lettered), logged as
//     requeued, and calls no ErrorHandler, since the message comes again.
//     As in SCSt, with dlq it applies only with max-attempts 1, no
//     retry-delays and republish-to-dlq false; otherwise the message goes
//     to the DLQ (an anonymous consumer's to the DLX), and a WARN at bind
//     says so. Without dlq it always applies (SCSt would republish to a
//     DLX nothing may read).
//   - A handler panic is a Term error.
//
// The broker's consumer_timeout (rabbitmq.conf; 30 minutes by default,
// broker-wide on RabbitMQ 3.10: no queue argument or policy sets it) runs
// from each delivery until its ack, and a prefetched message is delivered
// while it waits in the client for a worker. With prefetch 128 and one
// worker, the last of a full prefetch is acked after 128 handler calls:
// handlers slower than about 14 s a message reach the timeout, the broker
// closes the channel (406 PRECONDITION_FAILED, "delivery acknowledgement
// ... timed out") and redelivers everything it held unacknowledged,
// duplicates of what was handled but not yet acked. The binder logs that
// closure at WARN, naming consumer_timeout, prefetch and concurrency, and
// re-subscribes. Keep prefetch ÷ concurrency × the slowest handler time
// under the timeout: lower prefetch for slow handlers (prefetch: 1 for
// handlers of minutes), or raise consumer_timeout on the broker.
//
// RabbitMQ stores and delivers headers that amqp091-go refuses to decode:
// tables or arrays nested more than 32 deep, a table or array of more
// than 8192 entries, more than 8192 headers. amqp091-go closes the whole
// connection on such a message, and the broker would redeliver it on the
// next one for ever, so the binder rewrites its content header as it
// arrives: each such value is replaced by a text saying why, the headers
// past the 8191st are dropped (never the binder's own, such as the key,
// nor x-death),
// and the header
// x-streambind-undecodable-headers ([UndecodableHeaders]) says which
// (logged at WARN with the queue and message id). The message is then
// handled, and dead-lettered or dropped, as any other; its other headers
// are kept.
//
// Dead letters always fit. Their headers are fitted with
// stream.FitDeadLetter to the publisher connection's negotiated frame_max −
// 20,000 bytes (Spring AMQP's headroom for the rest of the content-header
// frame; half of frame_max when it is under 40,000), each header counted as
// AMQP encodes it: x-exception-stacktrace and then x-exception-message are
// shortened (then other kept values over 256 bytes, such as a long id),
// then the original headers are dropped, largest first, and
// x-streambind-truncated lists what was cut (logged at WARN). The key,
// which travels as the header x-streambind-key, is fitted with them,
// never shortened: one too large for the dead letter's headers (which
// get frame_max − 20,000 bytes, 111,072 by default, the exception headers
// included) goes, listed as
// "key", its size in x-streambind-key-size, with a WARN line naming the
// binding and the size. A payload over
// max-message-size is dropped (x-streambind-truncated: payload): a
// headers-only dead letter whose x-original-* headers and id locate the
// message. A dead-letter publish that fails for now (the broker nacks it:
// the DLQ is full with x-overflow reject-publish, at its x-max-length or
// x-max-length-bytes; no connection; no confirm in time) is retried with
// back-off, 100ms doubling to 5s, for as long as it fails, and the failed
// message is held unacknowledged meanwhile: the handler is not called
// again for it (requeued, it would be, max-attempts times a round, for as
// long as the DLQ refuses: a payment made again and again). The worker
// holding it takes no other message, so a consumer whose DLQ stays full
// stops once each of its workers holds one, the rest of its prefetch
// waiting unacknowledged (back-pressure, as a Kafka partition stops while
// its dead letter is not written). A WARN says so at the first failure
// (queue, DLQ, the error and, for a nack, its likely reason) and then at
// intervals doubling from 5s to 5m (DEBUG in between), an INFO when the
// dead letter went; after three failed attempts the consumer binding
// reports its dead letters down in readiness (stream.BindingHealthChecker:
// "cannot send dead letters") until one succeeds. The hold ends when the
// publish succeeds (the message is acked); when the consumer stops (Stop,
// the binder's Close: the message is requeued at once, nothing lost, Stop
// bounded by its ctx); when its channel is lost (the broker redelivers it,
// and the handler runs again; likewise after the broker's consumer_timeout,
// 30 minutes by default, closes a channel holding it); and, on a pipelined
// worker (an AsyncHandler), when a Pause begins: the deliveries behind it,
// which Pause waits for, are settled only after it, so it is requeued and
// handled again after Resume. Otherwise Pause does not wait for a hold (it
// is no handler call), and the held message is acked when its dead letter
// goes, paused or not. A deleted DLX or DLQ is declared again. A dead letter the broker
// refuses for good is not retried: the failed message is dropped (rejected
// without requeue) with an ERROR line and counted. That is a dead letter
// refused for itself (PRECONDITION_FAILED, frame errors it caused, or one
// that does not fit even without its payload), or one whose destination is
// refused: ACCESS_REFUSED on publishing to DLX, or a deleted DLX or DLQ
// that cannot be declared again (ACCESS_REFUSED, PRECONDITION_FAILED or
// NOT_ALLOWED on the declaration). In the second case the consumer binding
// also reports itself down in readiness (stream.BindingHealthChecker) until
// a dead letter succeeds again. The consumer binding counts truncated,
// headers-only and dropped dead letters (stream.DeadLetterReporter).
//
// # Messages of Spring AMQP producers: batches and compression
//
// SCSt's RabbitMessageChannelBinder post-processes every delivery before
// the listener sees it, and so does this binder, in the same order:
//
//   - Compression (a Java producer's compress: true): a content_encoding
//     whose part before the first ':' (else ',') is gzip, deflate (zlib)
//     or zip (the archive's first entry), as Spring AMQP's
//     DelegatingDecompressingPostProcessor reads it, has the body
//     decompressed and the encoding left as the text after the delimiter
//     ("gzip:UTF-8" becomes "UTF-8"; "gzip" none); the header
//     springAutoDecompress goes. Other encodings are left as they are. A
//     body may decompress to at most max-message-size (the binder's
//     setting, 128 MiB by default): a small body can expand to any size (a
//     zip bomb) and the result is held in memory whole. The decompressed
//     bodies a consumer holds at once (decompressed, not yet settled; for
//     a batch, until its last part is) are bounded to twice
//     max-message-size per consumer (its concurrency workers together):
//     a compressed delivery waits, before it is decompressed,
//     until its worst case (max-message-size) fits beside the others held,
//     and the deliveries after it wait with it, in order, in prefetch.
//     One is never refused for it: it goes once nothing else is held. So
//     prefetch times max-message-size is never held, and a producer of
//     compressible messages only slows the consumer down. gzip output is
//     sized from the trailer's size (ISIZE), capped at max-message-size.
//   - Batches (a Java producer's batching-enabled: true; Spring AMQP's
//     SimpleBatchingStrategy): a delivery with the header springBatchFormat
//     lengthHeader4, whose body is [4-byte big-endian length][message]
//     repeated, is split into its messages, handed to the handler (or
//     BatchHandler, AsyncHandler) as messages of their own, in order, on
//     one worker, each with the batch's properties and headers but
//     springBatchFormat (amqp_batchSize stays), as Spring AMQP's container
//     de-batches for a listener; but the batch's id (id header, else
//     message_id) is the first message's only: the message at position
//     i > 0 gets the id <id>#<i> (SCSt's listener gets a fresh id per
//     message), so that an idempotent consumer keyed on the id does not
//     take it for a duplicate; the same ids when the batch is redelivered. Each part is retried and settled as a
//     message of its own would be; the delivery is settled once every part
//     is: acked when each was handled, dead-lettered by the binder
//     (republish-to-dlq, the default: the failed part alone goes to the
//     DLQ, as SCSt's RepublishMessageRecoverer republishes the failed
//     fragment) or parked in a retry-delays wait queue (the part alone);
//     nacked with requeue when a part is to be requeued (a Nak,
//     requeue-rejected, a consumer stopping during the part): the
//     whole batch comes again, the parts already handled included (at
//     least once), and the parts after the requeued one are not handled
//     (a pipelined worker still handles those it handed to the
//     AsyncHandler before the requeue; a BatchHandler, those in the same
//     batch call); rejected when a part was rejected (with dlq
//     and republish-to-dlq: false the broker dead-letters the batch as it
//     came, as Spring's RejectAndDontRequeueRecoverer rejects the batch
//     message; without dlq it is dropped), after the other parts were
//     handled (Spring's container stops at the failed fragment: without
//     a DLQ the fragments after it were lost). A consumer that stops or loses its channel in the middle of
//     a batch leaves the delivery unacknowledged: the broker redelivers it
//     whole.
//
// A delivery that cannot be turned into messages — a malformed batch (a
// length past the end of the body, a truncated length, no message: an
// empty lengthHeader4 body is dead-lettered here, where Spring AMQP acks
// it as a batch of no messages; no Spring producer sends one), a body
// that does not decompress or decompresses past max-message-size — is
// never handed to the handler nor requeued (not even with
// requeue-rejected, as it would come back for ever): it is logged at
// ERROR and goes where a failed message goes, as it was received (its
// body still compressed), with the reason in x-exception-message: to the
// DLQ with dlq, else it is rejected (dropped).
//
// # Compressed sends
//
// A producer binding with compress: true (SCSt's) publishes every body
// gzipped, as SCSt's GZipPostProcessor does: at the binder's
// compression-level (SCSt's default 1, Deflater.BEST_SPEED), with
// content_encoding gzip (or "gzip, <encoding>" when the message had one, a
// replayed dead letter's, Spring AMQP's delimiter since 2.3) and the header
// springAutoDecompress true; properties and headers are kept, and
// confirms, partitioning, routing and the retries of a missing exchange
// work as without it. A Java SCSt consumer, or this binder's, decompresses
// it (see above). max-message-size applies twice: to the payload before
// compression (this binder's consumers decompress a body to at most
// max-message-size, so a larger one would be dead-lettered by them) and to
// the gzipped body (an incompressible payload grows by about 20 bytes);
// either is refused before it is published (ErrTooLarge, permanent).
// With batching-enabled the batch, not each message, is compressed (see
// Batched sends).
//
// # Batched sends
//
// A producer binding with batching-enabled: true (SCSt's) publishes its
// messages in batches as Spring AMQP's SimpleBatchingStrategy (SCSt's
// BatchingRabbitTemplate) writes them, so that a Java SCSt consumer (or
// this binder's, see above) reads each message: one AMQP message per
// batch with the first message's properties and headers, the headers
// springBatchFormat lengthHeader4 and amqp_batchSize (the count), and a
// body of [4-byte big-endian length][payload] per message, in send order.
// A batch holds messages of one routing key (so a partitioned producer
// batches per partition) and is released when it holds batch-size
// messages (100), when the next message would take its body past
// batch-buffer-limit (10000 bytes; at most max-message-size: the batch goes
// without it) or it reached that, when batch-timeout (5000 ms, counted
// from the batch's first message; Spring counts from the latest, so a
// steady trickle could hold a batch for long; 0 is refused) passed, and on
// Close. A batch of one message (a lone message after batch-timeout, or
// one at or over batch-buffer-limit, which goes alone at once) is that
// message as it is, without springBatchFormat, as in Spring. With
// compress: true the assembled batch is gzipped (Spring's
// before-publish post processor). A batch that gzip makes larger than
// max-message-size (incompressible payloads that filled
// batch-buffer-limit) is split in two halves published one after the
// other, each split again as needed, rather than failed: every message
// that goes alone also goes batched, in order.
//
// Send returns once the broker confirmed the batch that carries its
// message (so after up to batch-timeout); SendAsync's done is called then.
// So a lone synchronous sender (a function binding that is not pipelined:
// max-in-flight 1, batch-mode, idempotency, or an input binder that hands
// one message at a time; Bridge.Send and SendEncoded; any caller of Send
// that waits for it before the next) fills no batch: each of its messages
// waits batch-timeout and goes alone, about one message per batch-timeout
// (5 s by default). Batching pays with many messages in flight: a
// pipelined function binding (the default, max-in-flight above 1, input
// from Kafka or RabbitMQ: up to min(max-in-flight, prefetch) outputs per
// consumer worker are unconfirmed at once), SendAsync, or many
// goroutines sending; otherwise lower batch-timeout (or leave batching
// off). The envelope's typed header values (NativeHeaders) go in their
// AMQP types as unbatched, those of a batch's first message (the batch's
// headers) and of a batch of one included.
// A failed batch publish fails every message in it (a missing exchange is
// declared again and the batch published once more, as for a message). A
// message that cannot be published (a payload over max-message-size,
// properties and headers over the connection's frame_max, with gzip's
// when compressed, a header AMQP cannot encode) is refused alone before
// it joins a batch, as an unbatched Send refuses it. A first message
// whose headers fit frame_max alone but not with springBatchFormat and
// amqp_batchSize goes in a batch of its own (the batch is split as
// above). Batches of one routing key are published in order on one lane.
// A Send whose ctx ends first returns ctx's error, and a SendAsync's done
// gets it then, whatever the broker does (a blocked connection, a full
// confirm window, an outage); the message still goes with its batch (at
// least once, as when a confirm does not come in time). Memory is
// bounded: at most 16 released batches (plus one per routing key released
// by batch-timeout or Close) wait for their publish; a Send or SendAsync
// that would release or start a batch beyond that waits for room,
// bounded by its ctx (its message then joins no batch). Close publishes
// the open batches at once and waits, bounded by its ctx, for their
// confirms; when ctx ends first, the publishes left are cancelled and
// their messages fail.
//
// As in Spring, the messages of a batch are received with the batch's,
// that is the first message's, properties and headers: the headers of the
// others are not sent. Their ids are not either: a consumer of this binder
// gives the message at position i > 0 the id <id>#<i> (see above), a Java
// consumer a fresh one. Replayed dead letters are batched with their
// headers as text.
//
// # Concurrency and ordering
//
// A consumer runs consumer.concurrency workers, each with its own FIFO. A
// delivery goes to the worker chosen by a hash of its scst_partition header,
// else its key, else round robin: messages of one partition (or key) are
// handled one at a time, in queue order, each after the previous was
// settled. prefetch bounds the unacked deliveries of the channel (default
// 128; SCSt's 1 costs a broker round trip per message — with 128,
// BenchmarkRabbitConsume/binder runs at or above the raw client). With one
// worker (concurrency 1, not batch mode, prefetch 8 or more) the acks of
// handled messages are coalesced into one multiple ack: held while further
// deliveries are already waiting, up to a quarter of prefetch, and sent
// when none is waiting, before any nack or dead letter, before the next
// handler call once held 1 ms (a handler that took 1 ms or more is acked
// at once), on Pause, on Stop (also when its ctx ends with a
// handler call still running, which may never return), and when the
// broker cancels the consumer (basic.cancel) and leaves its channel open:
// they go out on that channel before the binder closes it and subscribes
// again. Pause and Stop wait for that write no longer than their ctx
// lasts: amqp091-go's Ack takes no context, and a write in progress can be
// cut short only by closing the connection, which all the binder's
// consumers share (closing the channel does not: its close frame waits
// behind that write), so the write goes on without them, and the acks are
// sent when the socket takes them; a write the socket does not take fails
// after one to two heartbeats, and the broker redelivers those messages
// (a WARN "ack failed"). Pause then returns its ctx's error ("... still
// being sent"). The binder's Close, even with an ended ctx (a shutdown
// after a Stop that ran out of time), does not close the connection
// before that write is done, for up to 2 s. Each message is still acked only after its handler
// returned nil; a crash, or a channel or connection closed (by the broker
// or the network), before the ack went out redelivers it, as it always
// could: no ack can go on a closed channel. A Nak'ed
// message is requeued by the broker after its redelivery-delay and may then
// come after later messages of its key that were already prefetched.
// Pause stops handing messages to the handler and waits for the calls in
// flight; the subscription (and the prefetched, unacked messages) stay, so
// an anonymous queue survives a pause. Stop waits for the calls in flight,
// then cancels the consumer and closes the channel: the broker requeues
// what was prefetched. A Stop whose ctx ends first says what it still
// waited for: handler calls, or the broker's answer to basic.cancel, to
// the channel's close, or to a re-subscription (a stalled connection).
//
// In batch mode a worker's batch is the deliveries waiting for it, up to
// batch-size. With receive-timeout (SCSt's consumer batching:
// enable-batching, batch-size, receive-timeout) it waits up to that long
// for each next delivery, and hands the batch over short of batch-size
// once none came in time, as Spring AMQP's container receives each next
// message with receive-timeout; a Pause or Stop hands it over at once.
// Without receive-timeout the batch is what had arrived: it waits for
// nothing (Spring's default, 1s, would hold every partial batch that long;
// set receive-timeout: 1000 for it). The deliveries a batch waits with are
// unacknowledged meanwhile, and count toward prefetch: a prefetch below
// batch-size keeps batches at most that long.
//
// In batch mode each delivery of a batch is settled by its own outcome
// (stream.BatchOutcome), each with its own ack, reject or dead letter; the
// handled deliveries before a failed one are acked at once, before its
// retries (stream.BatchSettler), each with its own ack (a multiple ack
// would be exact only over a run of the channel's tags handed out in
// order and all settled), not when the batch's handling ends; one that
// failed for good is dead-lettered (or dropped) and settled with them
// before the messages after it are handled. A dead letter held meanwhile
// (a full DLQ) is held as after the call: Pause does not wait for it, the
// call goes on only once the binding is not paused, and a Stop requeues
// the held delivery.
//
// # Pipelined processing
//
// A function binding whose output is on a rabbit binder too (or any binder
// whose producer implements stream.AsyncProducer) is processed pipelined
// when consumer.max-in-flight is above 1 (default 256; docs/conventions.md,
// "Pipelined processing"): the consumer's core handler hands the output to
// SendAsync and does not wait for its confirm.
//
//   - Producer: SendAsync takes the same path as Send (routing key,
//     checks, ErrTooLarge and the other permanent errors, the wait while
//     the connection is blocked) but publishes and returns; one goroutine
//     per lane waits for the confirms in delivery-tag order and calls each
//     message's done with what Send would have returned (nil, ErrNacked,
//     ErrUnroutable for a returned mandatory message, a deleted exchange
//     declared again and the message published once more). The lane's
//     confirm-window bounds the unconfirmed messages, Send's and
//     SendAsync's together: SendAsync blocks (bounded by its ctx) while
//     it is full. SendAsync puts a message of a key (of a routing key,
//     when it has no key) always on the same lane (with
//     publisher-channels above 1, by a hash), so one caller's messages of
//     a key are stored in its order. Send waits for its confirm, so its
//     caller's next message comes after it whatever its lane: Sends take
//     the lanes in turn (concurrent Sends spread over the channels), except
//     while SendAsyncs are unconfirmed on the lane of the message's key —
//     then it goes on that lane, behind them (a function's retry in place,
//     sent with Send after earlier outputs' SendAsync). A message
//     published again with its headers as text (its typed headers did not
//     fit) or after its deleted exchange was declared again goes on the
//     lane of its first publish. A message whose channel or connection is lost before
//     its confirm is published again on the next channel, as Send does,
//     but on a goroutine of its own: it can then be stored after messages
//     sent after it (and twice, if the broker had stored it already). So
//     can, for SendAsync, a message published once more after its
//     exchange was declared again (on its key's lane, but from a goroutine
//     of its own, as its caller has moved on); one whose typed headers do
//     not fit is sent as text before SendAsync returns, in its place.
//   - Consumer: each worker (consumer.concurrency; the routing of
//     deliveries to workers by partition or key is unchanged) hands its
//     deliveries to the handler while fewer than min(max-in-flight,
//     prefetch) of its own are unfinished, keeps them in delivery order
//     and settles them in that order, each only after it and every
//     earlier one of the worker finished, by the rules above (ack, Nak
//     with redelivery-delay, dead letter; acks of a run of successes
//     coalesced into one multiple ack with one worker). A finished
//     delivery behind an unfinished one waits, no longer counted in the
//     window (prefetch bounds them). A Nak'ed delivery is held, when its
//     turn comes, until redelivery-delay after its result came (not a full
//     delay each: a window of Nak'ed deliveries, as in an output outage,
//     is requeued within about one delay) and nacked before the ones
//     behind it are settled; the broker redelivers it after those, whose
//     outputs were already sent — the ordering caveat of a Nak without
//     pipelining, with up to a window of messages instead of the prefetched
//     ones. A delivery whose output send failed (its result is a Nak
//     marked stream.ErrPipelinedSend) is not requeued (unless the
//     consumer is pausing or stopping: then it is, and comes back after
//     Resume or to the next consumer): when its turn
//     comes, redelivery-delay after its result, the worker hands it to
//     the Handler in place, which retries it as without pipelining
//     (max-attempts, back-off, then Nak); the outputs of later deliveries
//     may have been stored meanwhile, so its output can come after
//     theirs. Order per key across a failed send needs max-in-flight: 1
//     and prefetch: 1 (a Nak'ed delivery is requeued behind the
//     prefetched ones).
//   - Pause waits for every handed-out delivery to finish and be settled,
//     and hands out nothing while paused: a Nak'ed one held for
//     redelivery-delay is nacked at once as the Pause begins, and Pause
//     returns after that (before 2026-12-06 it returned with the delivery
//     still held, nacked only once the delay was over). So the broker may
//     hand it at once to another consumer of the queue (a competing
//     member of the group), which handles it before redelivery-delay is
//     over; a sequential (not pipelined) worker's held delivery is nacked
//     only when its delay ends, so no other consumer gets it sooner. Stop
//     hands out nothing more,
//     waits for the unfinished ones (bounded by Stop's ctx, whose end
//     cancels the handlers' context), settles the finished ones at the
//     head and closes the channel: the broker redelivers the rest. A done
//     that comes after that is dropped. A lost consumer channel works as
//     without pipelining: the deliveries of the old channel are not
//     settled (the broker redelivers them), the new channel's are.
//
// Outputs and acks stay in input order per worker while nothing fails;
// max-in-flight: 1 turns pipelining off (each output confirmed before the
// next delivery is handled). BenchmarkPipelineRabbit (shape (c) of issue
// 10; see its doc) compares the App with a raw amqp091-go
// consume-transform-produce loop on the same queues:
//
//	go test -run '^$' -bench BenchmarkPipelineRabbit -benchtime 5000x -count 3 ./binder/rabbit
//
// On a shared 2-core machine (load average 2.4 to 7 from other work; the
// broker on the same machine, so its CPU is the bottleneck: this process
// used 7-13% of the wall time), 5000 messages a round, five runs of
// -count 3: app/raw 0.67 to 1.14, mean 0.91 (10 of the 15 at 0.8 or
// more; the lowest under the highest load), App 2100-7400 msgs/s; before
// pipelining 0.05 to 0.13, mean 0.10 (App 270-460 msgs/s, raw 2900-5000).
// The App's CPU per message is 1.3-1.6x raw's (114 allocations against
// 99), most of both in amqp091-go's publish (a write and flush per
// message) and its frame reading.
//
// # Reading dead letters (streambind dlq)
//
// The dead-letter cursor (stream.DeadLetterStore: streambind dlq ls, show,
// replay, purge) reads the DLQ by consuming it, without acknowledging, at
// most 256 dead letters ahead of what it removed; Remove acknowledges one,
// and a batch (stream.DeadLetterBatcher: replay and purge read up to 128
// and 256 at once) goes with one multiple ack when no dead letter the
// cursor holds comes before it; Close gives back the others, which
// RabbitMQ puts back in their places. A quorum DLQ (dlq-quorum) counts each dead letter given back as
// a delivery (x-delivery-count; RabbitMQ before 4.3, and 4.0 to 4.2 apply
// a default delivery limit of 20), and once the count passes the queue's
// delivery limit (dlq-quorum.delivery-limit, SCSt's
// dlqQuorum.deliveryLimit) drops the dead letter, or dead-letters it
// through the DLQ's x-dead-letter-exchange: with limit 2, three listings
// deleted every dead letter. So Close replaces each dead letter it would
// give back at the limit (its x-delivery-count, or x-acquired-count, at
// the limit or above; read or only sent ahead) by an identical copy:
// published to the queue (default exchange, confirmed, mandatory) with its
// properties, its headers in their AMQP types (without x-delivery-count
// and x-acquired-count, and without CC and BCC, which would route copies
// to the queues they name as well) and its body, and only then
// acknowledged. The copy is at the queue's tail, with a count of 0; Close logs at WARN how many
// it moved, and fails naming those it could not copy (the broker then
// drops them). A user-id property that is not the binder's user is left
// out of the copy (the broker refuses it). The limit is the binding's
// dlq-quorum.delivery-limit, else 20, RabbitMQ 4's default: AMQP does not
// show a queue's arguments or policies, so a lower limit set by a policy
// (or a DLQ declared with another one) must be configured on the binding
// to be kept. So a listing never loses a dead letter, but every limit-th
// listing reorders the ones it reached (and renumbers the cursor's IDs);
// a cursor cut off from the broker (killed, connection lost) gives back
// what it held without copying, as any consumer does, so the broker drops
// (or dead-letters on) those of its up to 256 that reach the limit so.
//
// A dead letter the cursor returns carries the AMQP values of its headers
// that are not strings (stream.Envelope.NativeHeaders), and a producer
// sends such a value in place of its text header while the text still
// reads as it: so a replay (stream.ReplayEnvelope) keeps the types of the
// headers it keeps, x-death among them (the broker counts on in it; see
// docs/conventions.md), and sends those it drops or changes without them.
// It carries its content_encoding, correlation_id, reply_to, type, app_id
// and priority properties too (under a NativeHeaders key that names no
// header), which a producer of the binder gives its replay: a compressed
// body stays readable and a reply still finds its requester. And it has
// them as the headers SCSt's binder gives a handler (amqp_contentEncoding,
// amqp_correlationId, amqp_replyTo, amqp_type, amqp_appId, priority; not
// where the message has a header of that name itself): streambind dlq
// show and tail list them, and a replay to another binder's destination
// carries them; a producer of this binder sends those it added as the
// properties only (and the dead letter's own amqp_* headers as headers:
// a replay is the message again, unlike an output, whose amqp_* headers
// set properties; see Producer).
// A value AMQP cannot encode goes as its text, and a message whose typed
// headers do not fit the frame goes with all its headers as text, each
// with a WARN: the copy is sent in any case.
//
// # Reconnection
//
// The binder runs its own recovery loop rather than amqp091-go's
// experimental automatic recovery, because it needs things that recovery
// does not give: the binder's topology (not a recording of calls) is
// re-declared, unconfirmed publishes are re-sent by the Send that made them
// (which still holds the message), anonymous exclusive queues are
// re-created on the new connection, and — most important — amqp091-go's
// recovery reuses the *Channel object, on which delivery tags restart at 1,
// so an ack of a pre-failure delivery could ack another message. Here every
// delivery carries the channel session it came from and is settled only on
// that session while it is current; a late ack for a lost channel is
// dropped (the broker redelivers the message: a duplicate, never a loss).
// A delivery of a lost channel whose handler failed is neither
// dead-lettered, parked for a delayed retry, requeued nor (pipelined)
// retried in place: its redelivery is, once (a dead letter made beside
// the redelivery was a second copy in the DLQ).
//
// The binder has two connections: one for its publishers and one for its
// consumers, on which each consumer binding (each destination of it) runs
// one channel whatever its concurrency, and each bind opens and closes one
// more for its declarations. The broker's channel_max (2047 by default)
// therefore bounds a binder to about 2,000 consumer bindings: the next one
// fails its Start with 504 "channel id space exhausted", naming the
// binding. A service that needs more declares a second binder of the same
// broker (stream.binders.<name>) for some of its bindings, or raises the
// broker's channel_max.
//
// Each connection (publisher, consumer) is dialled by the first bind that
// needs it (see Start-up); once made, it is watched with NotifyClose and,
// when lost, re-dialled with jittered exponential back-off
// (reconnect-initial-interval … reconnect-max-interval), cycling through
// addresses, until the binder is closed. A bind made while the connection
// is down brings the next attempt forward, but binds cause at most one
// connection attempt a second per connection, however often they come (a
// bridge binding dynamic destinations while the broker is down, say). The back-off starts again
// from reconnect-initial-interval only after a connection stayed up for
// reconnect-max-interval: a broker that accepts a connection and closes it
// at once (for every publish, say) sees a few reconnects a second at most.
// Consumers re-subscribe (re-declaring their topology), also when the
// broker cancels them (their queue deleted), with the same back-off. A
// cancelled consumer's channel is closed first, after the acks held for
// coalescing were sent on it, so that the broker requeues its other
// unacknowledged deliveries: one whose handler call still runs then is
// redelivered if its queue still holds it (its ack would come after the
// close), as are those that waited for a worker; while
// re-subscribing fails (declaring the queue again refused, say) the
// consumer binding reports itself down in readiness
// (stream.BindingHealthChecker: "is not consuming", with the error), until
// it subscribed again. Sends waiting for a
// confirm whose channel was lost publish again on the next channel — except
// a message that was in flight on three connections the broker closed with
// a frame error, which is taken to be their cause and fails permanently.
// Duplicates are possible, losses are not.
//
// The binder's Health (readiness) reports a connection that is down, with
// its last error (or, during a bind's first attempt, "connecting to
// <address>": an address that accepts TCP but does not answer the AMQP
// handshake holds it for connection-timeout), and one the broker blocks (connection.blocked, under a
// memory or disk alarm) as "<role> connection blocked by the broker:
// <reason>", until the broker unblocks it.
//
// # Start-up
//
// The rule of every binder (stream.binders.<name>.startup-timeout):
// BindProducer and BindConsumer do not wait for the broker. When it cannot
// be reached they return after one connection attempt (each address in
// turn, each bounded by connection-timeout, all by the caller's ctx) an
// error wrapped with stream.Unavailable, and the core retries the bind with
// back-off until the binder's startup-timeout (readiness answers 503
// meanwhile). Until a connection was made the binder runs nothing in the
// background: the core's retry is the only schedule, and the only WARN
// line, of each attempt (the binder logs its failed attempts at DEBUG). A
// broker that refuses the client — 403 ACCESS_REFUSED (wrong credentials),
// 530 NOT_ALLOWED (virtual host), a TLS handshake that fails for any reason
// but the network (an untrusted certificate, a TLS alert, amqps to a port
// that does not speak TLS) — fails the bind with a plain error, which ends
// start-up at once, and nothing retries it. (RabbitMQ answers a wrong
// password by closing the socket after 3 seconds; amqp091-go reports that,
// or a connection-timeout that ends first, as 403.) Once a connection was
// made, the binder reconnects after outages as described above, for as
// long as it runs.
//
// # Errors
//
// AMQP errors are classified once, for every publish and dead letter. The
// rule (the Kafka binder's too): permanent means the message is at fault; a
// destination that is missing or forbidden is the binding's fault.
//
//   - permanent for the message: 406 PRECONDITION_FAILED on publishing
//     (over the broker's max_message_size; an expiration or user_id it
//     refuses), [ErrTooLarge], names and properties AMQP cannot encode,
//     an amqp_expiration or amqp_userId the broker would refuse (see
//     Producer), frame errors the message caused (see above). Send wraps
//     them with stream.Permanent; a dead letter is dropped.
//   - the destination refused: 403 ACCESS_REFUSED on publishing (or on
//     declaring again an exchange that was deleted). Transient for Send,
//     and the producer binding is down until a Send succeeds; a dead letter
//     is dropped and the consumer binding is down until one succeeds (see
//     Producer and Consumer).
//   - 404 NOT_FOUND for the exchange published to: declared again (see
//     Producer and Consumer).
//   - transient: connection loss, 320 CONNECTION_FORCED, other channel
//     errors, resource alarms (a blocked connection; the Send's ctx ends),
//     [ErrNacked], [ErrUnroutable] (a queue may be bound later; the core
//     leaves the input for redelivery).
//
// A channel error caused by another publish on the same channel (a
// publishing lane is shared) is not blamed on the messages that were in
// flight with it: they are published again, up to three times. When the
// closure names the message at fault (over max_message_size, its
// expiration or user_id), that one fails at once and is not published
// again.
//
// # Settings
//
// Binder settings, in stream.binders.<name>.environment or
// stream.rabbit.binder (the environment wins; camelCase accepted; any
// other key is an error naming it; values are read as package binder/props
// describes):
//
//	addresses: 127.0.0.1:5672          # comma list of [amqp(s)://][user[:pass]@]host[:port][/vhost], tried in turn
//	uri: (none)                        # amqp[s]://user:pass@host:port/vhost, instead of addresses/credentials; uri wins when both are set (an environment section's key wins over stream.rabbit.binder's)
//	username: guest
//	password: guest                    # never logged: URIs are redacted (see Redact)
//	virtual-host: /
//	connection-name: streambind        # shown in the management UI, with -publisher/-consumer
//	connection-name-prefix: (none)     # SCSt's: names the connections <prefix>#<n> instead (n from 0, one per connection opened)
//	heartbeat: 10s
//	connection-timeout: 5s             # TCP connect + AMQP handshake
//	reconnect-initial-interval: 100ms
//	reconnect-max-interval: 5s
//	publisher-channels: 2              # publishing lanes (channels) per binder, at most 256; see Producer
//	confirm-window: 256                # unconfirmed messages per lane, at most 65536
//	max-message-size: 134217728        # bytes (or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it); the broker's max_message_size (RabbitMQ's default, 128 MiB):
//	                                   # larger payloads fail Send (ErrTooLarge) and are dead-lettered headers-only
//	compression-level: 1               # SCSt's: the gzip level of compress: true producers, java.util.zip.Deflater's -1 (default, 6) or 0 (none) to 9; 1 fastest
//	tls:                               # or ssl; amqps:// URIs enable it
//	  enabled: false                   # true when the tls map is given
//	  ca-file: (system roots)
//	  cert-file: / key-file: (none)    # client certificate
//	  server-name: (the host)
//	  insecure-skip-verify: false
//
// An addresses entry is [amqp://|amqps://][user[:password]@]host[:port][/virtual-host],
// as Spring Boot reads spring.rabbitmq.addresses: the user info and virtual
// host are taken literally (not percent-decoded; the user info ends at the
// last '@', so a password may hold '@', ':' or '/'); amqps:// turns TLS on
// for the entry and amqp:// off; the port defaults to 5671 with TLS, else
// 5672; an IPv6 host is written in brackets when a port follows. What an
// entry leaves out comes from the first entry (as in Spring Boot), else
// from username, password, virtual-host and tls. An entry that does not
// parse is a configuration error naming its position, never its text (it
// may hold a password). So is a uri or entry whose host or port the dial
// cannot use (a port given twice, amqp://host:5672:99, which amqp091-go
// reads as host "host:5672"; a port outside 1-65535), and a uri or
// addresses set but empty ("is empty", as a deployment template renders
// STREAM_RABBIT_BINDER_URI=): such an address is refused at its key when
// the configuration is read (NewApp, streambind lint), not retried as an
// outage. A host that does not resolve is an outage. A uri with an '@'
// after its host (in the virtual host, query or fragment) is refused too:
// it is what a password holding an unencoded '/', '?' or '#' parses as
// (amqp://u:12345/secret@h: host "u", port 12345), which the dial's error
// would show; write them %2F, %3F, %23. An addresses entry's user info
// ends at its last '@' and is taken literally, so a password there may
// hold them as they are. An IPv6 zone is refused as one: the uri cannot
// hold it (the client loses its %25), an entry can as [fe80::1%25eth0].
//
// Consumer properties, stream.rabbit.bindings.<binding>.consumer (and
// stream.rabbit.default.consumer); the names and defaults are SCSt's
// (RabbitConsumerProperties) unless said otherwise, and SCSt's
// auto-bind-dlq here is consumer.dlq:
//
//	prefix: ""                         # starts the exchange, queue, DLQ and default DLX names (see Prefix below); routing and binding keys keep the bare destination
//	prefetch: 128                      # SCSt: 1; at most 65535 (AMQP's prefetch-count)
//	requeue-rejected: false            # requeue failed messages (after redelivery-delay) instead of dead-lettering them
//	republish-to-dlq: true             # with dlq: publish failed messages to the DLX with x-exception-* headers;
//	                                   # false: reject them, and the broker dead-letters them (x-death header)
//	republish-delivery-mode: PERSISTENT # the AMQP delivery mode of the dead letters republish-to-dlq publishes: NON_PERSISTENT (1) or PERSISTENT (2)
//	durable-subscription: true         # false: a group's queue is non-durable and auto-delete, and no DLQ (nor DLX) is declared for it:
//	                                   # with dlq its failed messages go to the DLX as an anonymous consumer's do; its retry-delays wait queues are non-durable
//	redelivery-delay: 100ms            # hold before a Nak'ed (or requeue-rejected) message is requeued; 0: at once
//	batch-size: 64                     # batch mode: most messages per batch
//	receive-timeout: (none)            # batch mode: how long a batch waits for each next message before it is handed over short of batch-size (a bare number: ms; at most 1h); none: not at all, the batch is what had arrived
//	consumer-tag-prefix: (none)        # consumers tagged <prefix>#<n> (n from 0, across the binding's destinations); none: streambind-<binding>-<id>
//	anonymous-group-prefix: anonymous. # an anonymous consumer's queue is <prefix><destination>.<this><id>
//	exchange-type: topic               # topic, direct, fanout, headers
//	declare-exchange: true
//	exchange-durable: true             # the destination exchange is durable
//	exchange-auto-delete: false        # the broker deletes the destination exchange when its last queue is unbound
//	bind-queue: true
//	binding-routing-key: "#"           # partitioned (named group): <destination>-<instance-index>, or <this>-<instance-index> when set
//	binding-routing-key-delimiter: (none) # splits binding-routing-key into several keys
//	queue-name-group-only: false       # the queue is named <group>
//	queue-binding-arguments: (none)    # map; binding arguments for a headers exchange (x-match …)
//	ttl: (none)                        # x-message-ttl, a duration or milliseconds
//	expires: (none)                    # x-expires, a duration or milliseconds
//	max-length: (none)                 # x-max-length
//	max-length-bytes: (none)           # x-max-length-bytes
//	max-priority: (none)               # x-max-priority, 0 to 255
//	lazy: false                        # x-queue-mode lazy
//	overflow-behavior: (none)          # x-overflow: drop-head, reject-publish, reject-publish-dlx
//	quorum:                            # or a bool: enabled
//	  enabled: false                   # x-queue-type quorum
//	  delivery-limit: (none)           # x-delivery-limit
//	  initial-group-size: (none)       # x-quorum-initial-group-size
//	single-active-consumer: false      # x-single-active-consumer
//	dead-letter-queue-name: (<base queue>.dlq) # the base queue is <destination>.<group> (or <group>)
//	dead-letter-exchange: DLX          # x-dead-letter-exchange of the queue; where dead letters go
//	dead-letter-exchange-type: direct
//	declare-dlx: true
//	dead-letter-routing-key: (the queue's name) # x-dead-letter-routing-key, and the DLQ's binding key
//	dlq-ttl, dlq-expires, dlq-max-length, dlq-max-length-bytes, dlq-max-priority: (none) # the DLQ's arguments, as above
//	dlq-lazy, dlq-single-active-consumer: false
//	dlq-overflow-behavior: (none)
//	dlq-quorum: (none)                 # as quorum, for the DLQ
//	dlq-dead-letter-exchange: (none)   # the DLQ's x-dead-letter-exchange
//	dlq-dead-letter-routing-key: (none) # the DLQ's x-dead-letter-routing-key
//	dlq-binding-arguments: (none)      # map; arguments of the DLQ's binding to the DLX
//
// With dlq (SCSt's auto-bind-dlq) on a named group, the queue is declared
// exactly as SCSt's provisioner declares it, so that a queue an SCSt
// service declared is accepted and the other way round: arguments
// x-dead-letter-exchange (dead-letter-exchange, DLX) and
// x-dead-letter-routing-key (dead-letter-routing-key, else the queue's
// name: <destination>.<group>, or <destination>.<group>-<instance-index>
// when partitioned), plus the arguments above as AMQP 32-bit integers; the
// DLX (a durable direct exchange) and the durable DLQ <base queue>.dlq
// (one per group, for all its partitions), bound to the DLX with the
// queue's dead-letter routing key and, with republish-to-dlq, also with
// the base queue name. Republished dead letters go to the DLX with the
// dead-letter routing key.
//
// Prefix (SCSt's prefix, often one per environment on a shared broker:
// prefix: ${QUEUE_PREFIX:}) starts every name a binding declares, as
// SCSt's provisioner names them: the exchange <prefix><destination>, the
// queue <prefix><destination>.<group> (<prefix><group> with
// queue-name-group-only; -<instance-index> appended when partitioned),
// the anonymous queue <prefix><destination>.anonymous.<id> (with
// anonymous-group-prefix in place of "anonymous."), the DLQ
// <prefix><destination>.<group>.dlq and, unless dead-letter-exchange is
// set, the DLX <prefix>DLX. Routing and binding keys are the destination
// without the prefix (<destination>, <destination>-<partition>), as SCSt
// sends them. One difference from SCSt, on purpose: with
// queue-name-group-only, SCSt's producer declares a required group's
// queue as <group>, without the prefix its consumer gives the same
// queue, so the messages sent before the consumer first starts are in a
// queue it never reads; here both are <prefix><group>. Producers and
// consumers of one destination must use the same prefix.
//
// RabbitMQ checks write permission on the dead-letter exchange when a
// queue with x-dead-letter-exchange is declared: without it the bind fails
// with ACCESS_REFUSED.
//
// To read a DLQ directly: destination DLX, group <destination>.<group>.dlq,
// queue-name-group-only: true, declare-exchange: false, bind-queue: false
// (and the DLQ's dlq-* arguments, without the prefix, if it has any), with
// the prefix of the binding whose DLQ it is; consumer.dead-letters-of
// sets all of these. Such a reader with dlq of its own sends its failures
// to <prefix>DLX (its dead-letter-exchange if set), into
// <prefix><destination>.<group>.dlq.dlq; it declares the DLQ with
// x-dead-letter-exchange <prefix>DLX and x-dead-letter-routing-key the
// DLQ's name, which the DLQ's binding must declare it with too
// (dlq-dead-letter-exchange, dlq-dead-letter-routing-key), or the
// declarations clash.
//
// Producer properties, stream.rabbit.bindings.<binding>.producer (SCSt's
// RabbitProducerProperties):
//
//	prefix: ""                         # as above: the producer sends to exchange <prefix><destination>
//	routing-key: (the destination)     # partitioned: <this>-<partition>
//	routing-key-expression: (none)     # per message, SpEL subset (docs/conventions.md): headers['type'], payload.kind, 'a.' + headers.x …
//	mandatory: true                    # an unroutable message fails Send (ErrUnroutable)
//	delivery-mode: PERSISTENT          # each message's AMQP delivery mode: NON_PERSISTENT (1, transient) or PERSISTENT (2)
//	auto-bind-dlq: false               # required-groups queues with x-dead-letter-* arguments and DLQs, as consumers with dlq declare them
//	compress: false                    # gzip every body (content_encoding gzip, as Spring AMQP's GZipPostProcessor) at the binder's compression-level; see "Compressed sends"
//	batching-enabled: false            # publish the messages of a routing key in Spring AMQP batches (springBatchFormat lengthHeader4); see "Batched sends"
//	batch-size: 100                    # batching: most messages per batch
//	batch-buffer-limit: 10000          # batching: most bytes of a batch's body (4 per message plus its payload), at most max-message-size; a larger message goes alone
//	batch-timeout: 5000                # batching: a batch short of batch-size goes this long after its first message (a bare number: ms)
//	exchange-type, declare-exchange, exchange-durable, exchange-auto-delete, bind-queue, queue-name-group-only, queue-binding-arguments: as above
//	binding-routing-key, binding-routing-key-delimiter: as above, for required-groups queues
//	ttl, expires, max-length, max-length-bytes, max-priority, lazy, overflow-behavior, quorum, single-active-consumer: as above, for required-groups queues
//	dead-letter-queue-name, dead-letter-exchange, dead-letter-exchange-type, declare-dlx, dead-letter-routing-key: as above, with auto-bind-dlq
//	dlq-ttl, dlq-expires, dlq-max-length, dlq-max-length-bytes, dlq-max-priority, dlq-lazy, dlq-overflow-behavior: as above
//	dlq-quorum, dlq-single-active-consumer, dlq-dead-letter-exchange, dlq-dead-letter-routing-key, dlq-binding-arguments: as above
//
// A producer with required-groups declares their queues before its first
// send, as SCSt's provisioner does: <destination>.<group> bound with
// binding-routing-key ("#"); when the producer is partitioned, one queue
// <destination>.<group>-<p> per partition p, bound with
// <destination>-<p> (the key partitioned messages are published with), so
// that no partition's messages are lost before its consumer starts. A
// consumer with dlq declares its queue with x-dead-letter-* arguments: set
// auto-bind-dlq (and the same dead-letter-* properties) on the producer
// too, or the two declarations clash (PRECONDITION_FAILED, a
// [*TopologyError] naming the argument) — as with SCSt.
//
// SCSt's RabbitMQ keys that have no setting above are accepted at the
// value that asks for what the binder does anyway (SCSt's default) and
// refused at any other, with the reason and what to set instead:
// acknowledge-mode AUTO, exclusive false,
// transacted false, container-type SIMPLE or DIRECT, header-patterns "*",
// missing-queues-fatal false,
// queue-declaration-retries 3, failed-declaration-retry-interval and
// recovery-interval 5000 (the binder's reconnect-initial-interval and
// reconnect-max-interval govern re-subscribing), frame-max-headroom 20000,
// super-stream and delayed-exchange false;
// producer producer-type AMQP,
// use-confirm-header false; binder admin-addresses and nodes empty.
// (The producer's compress, batching-enabled, batch-size,
// batch-buffer-limit and batch-timeout and the binder's compression-level
// are read: see Compressed sends and Batched sends.)
// enable-batching (which tunes what batch-mode does here) is accepted at
// any value; so is max-concurrency: up to the
// binding's concurrency (SCSt's container grows only above it) it asks for
// nothing the binder does not do, and above it the binder, which does not
// scale its consumers, runs concurrency workers (what SCSt's container runs
// while not under load), with a WARN at bind saying max-concurrency is not
// honoured (streambind lint reports it too: Binder.WarnConsumer).
// alternate-exchange, delay-expression,
// confirm-ack-channel and the stream converter bean names are refused with
// the reason.
//
// Each binding logs one INFO line when bound ("rabbit: producer bound",
// "rabbit: consumer bound") with its exchange, queues and binding keys, and
// the DLX, DLQs and dead-letter routing key. A binding bound again by the
// same binder with the same topology logs that line at DEBUG: the bridge
// binds a dynamic destination's producer again at its next send after its
// cache evicted it, which would otherwise log it at every send when the
// app cycles through more destinations than the cache holds.
package rabbit
