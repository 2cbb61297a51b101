// Package nats is streambind's NATS JetStream binder (binder type
// "nats"), built on github.com/nats-io/nats.go and its jetstream package.
// Register it with
//
//	stream.WithBinderType(nats.Type, nats.New)
//
// and a service written for the Kafka or RabbitMQ binder runs on a NATS
// server (2.9 or later, with JetStream) by configuration alone. It keeps the
// delivery semantics of docs/conventions.md: a send returns once JetStream stored
// the message, a message is acknowledged only after its handler succeeded,
// Nak redelivers after redelivery-delay, Term dead-letters (or drops), and
// dead letters go to error.<destination>.<group> with the x-exception-*
// headers. Package natstest finds the local server for tests and starts a
// test's own.
//
// # Naming
//
// A destination is a NATS subject: tokens separated by '.', no wildcards
// (* >), no white space. Its stream is named [StreamName](destination): the
// destination with '.' replaced by '_' ("orders.eu" → "orders_eu"); when
// that would be ambiguous — the destination holds '_' or a character other
// than ASCII letters, digits, '-' and '.' — or longer than 200 bytes, '-'
// and 8 hex digits of its FNV-1a hash are appended, so two destinations
// never share a stream. The stream captures the subjects <destination>
// (unpartitioned messages) and <destination>.> (partition n is
// <destination>.<n>). Hence no destination may be another's prefix at a
// '.': "orders" and "orders.eu" would overlap (orders's stream would hold
// orders.eu's messages, and orders's consumers read them), so whichever
// binds second fails with an error naming the overlap (streambind lint
// reports it for the services given). A destination that is no such
// subject is a configuration error at its destination key (the app and
// lint report it before anything binds), and so is a group whose
// dead-letter subject error.<destination>.<group> would not be one.
//
// When no stream of that name exists but another stream captures the
// destination (one an operator made, say ORDERS for orders.>), the binder
// uses that stream and creates none; its consumers then filter the
// destination's subjects and their durable names start with
// StreamName(destination) + "__" (one stream may hold several
// destinations). Such a stream keeps its own settings.
//
// A named group is a durable pull consumer on the destination's stream,
// named [DurableName](group): the group sanitised like a stream name, with
// "_p<instance-index>" appended for a partitioned consumer ("payment",
// "payment_p0"). All members of a group pull from that one consumer and
// share its messages. An anonymous consumer is an ephemeral consumer made
// by Start with deliver policy "new" (it gets what is sent after it
// started) and deleted by Stop; the server removes one whose process died
// after inactive-threshold. It reads every partition's subject and the
// destination's own also when partitioned: partitioned applies to a named
// group only, as in SCSt.
//
// Provisioning is idempotent and happens at bind time: the stream (created
// with the stream settings below when missing; an existing stream is used
// as it is, with a WARN naming each setting of the destination's own stream
// that differs from them, such as a max-age changed since the stream was
// made), a named group's durable consumer (created, or updated with the
// binding's properties — its deliver policy, fixed at creation, is kept; an
// update that changes its ack-wait, max-deliver, max-ack-pending or filters
// logs a WARN naming the changes, see "Changed group settings" below),
// with dlq the dead-letter stream, and a producer's required-groups'
// durable consumers. Those a producer makes only when missing, as the
// group's consumers would name and filter them — DurableName(group), or
// for a partitioned producer DurableName(group, i) filtering partition i
// for every i < partition-count (what instance-count = partition-count
// instances read) — with the consumer defaults; one that exists is left as
// it is, so a producer started later does not reset the ack-wait,
// max-deliver or max-ack-pending its group's consumers gave it. A group
// then run with fewer instances than partitions (NATS 2.10, the NATS
// partition-count set) does not read the durables of the instance indexes
// it lacks: delete those (nats consumer rm), or they keep what arrives for
// them (and an interest stream keeps it too).
//
// # Changed group settings
//
// A group's durable consumer is shared by all its members, so a bind with
// another ack-wait or max-deliver (a rolling deployment of a new
// configuration, one member at a time) changes them for the members still
// running too. A member therefore times everything by the durable's
// ack-wait and max-deliver as the server has them, not by its own
// properties: its in-progress acks (every third of ack-wait), its
// detection of leases that lapsed while the process did not run, its pull
// bound and its last-delivery check. It reads them at bind and Start, and
// while it runs every 5s (a consumer info request, which also prunes its
// record of given-back messages; a change is logged at INFO). Filter
// subjects that another program changed (nats consumer edit) are not
// followed but logged at WARN: the group reads what they say until a
// member binds again and sets them back. JetStream
// applies a lowered ack-wait at once to the messages already delivered, so
// reading it afterwards is too late for messages held longer than the new
// ack-wait: a bind that lowers it first announces it on the core subject
// _STREAMBIND.ACKWAIT.<stream>.<durable>, and each running member
// acknowledges everything it holds in progress, keeps it at the new pace
// from then on, and replies; the bind waits for the replies (250ms after
// the last one, 2s at most; at once when no member listens or the
// subject is not permitted) before it updates the durable, and its WARN
// counts them (members-told; when none replied but the durable has
// messages delivered and unacknowledged, it says that the members holding
// them were not told and will likely handle some again, and that prefetch
// × handling time below the new ack-wait avoids it). Before it replies, a
// member also ends its pull and takes what the client had buffered beyond
// the held messages, which were delivered as long ago. A raised
// ack-wait is followed within 5s (meanwhile the members keep messages
// more often than needed). Without permission for that subject, what a
// member holds longer than the new ack-wait goes to another member at the
// update; the member leaves those to that redelivery once it has read the
// change, so only those it handled meanwhile are handled twice. Members of
// streambind versions before this time their acks by their own ack-wait
// until restarted, and the messages they hold are handled twice: deploy
// this version first and lower ack-wait in a later deployment, or stop the
// old members before the new ones bind. A member that makes the durable again
// after the server lost it makes it with its own properties.
//
// What JetStream cannot change stays as the durable was made, with a word:
// start-offset applies only when the group's durable is made (as on Kafka
// for a group with committed offsets), so a bind whose start-offset differs
// from the existing durable's logs a WARN naming the durable and both
// values (to start the group anew, stop its members and delete the durable,
// nats consumer rm, or use another group name). A group made partitioned
// reads new durables (DurableName(group, i)), and one made unpartitioned
// the durable DurableName(group): the durables of the other shape that an
// earlier deployment left are read by no member, keep what they had not
// delivered (an interest or workqueue stream keeps it too), and the new
// ones started where start-offset says (earliest: from the stream's first
// message, so what was handled comes again); each bind logs a WARN naming
// them and their pending messages while they exist. A group switched back
// (instance-count 1 → 2 → 1) binds the durables it left again, which
// resume with that backlog: what the other shape's members handled
// meanwhile is handled again (the WARN then names the binding's durable
// and its pending messages). Delete the old shape's durables (nats
// consumer rm) before switching back, or rename the group. A producer's
// required-groups of the other shape than the group's consumers makes such
// durables too (a partitioned producer's, one per partition, for an
// unpartitioned group): the WARN names that cause beside an earlier
// deployment, and streambind lint warns of it at the producer's
// required-groups. An update that
// JetStream refuses (a durable made by hand with ack policy all, or a push
// consumer) fails the bind with an error naming the binding, the durable,
// the setting it keeps and what the update would have changed, and says
// to delete the durable; one refused for another reason (a limit of the
// account, as max-ack-pending) gives the server's reason, and no such
// advice: the durable would be refused alike when made again.
//
// # Producer
//
// Send publishes the message and waits for JetStream's PubAck. The
// message's id header (when it has none, a unique one: a random prefix per
// producer and a counter) is its Nats-Msg-Id (as the header travels: an
// id NATS cannot carry as it is goes encoded, see below, so that two ids
// never become one), so a
// send retried after a timeout or a lost connection is stored once within
// the stream's duplicate-window; Nats-Expected-Stream makes sure it lands in
// the destination's stream. A different message that reuses an id within
// the duplicate-window is not stored either: JetStream acknowledges it as a
// duplicate and Send returns nil. That is logged (a WARN naming the binding,
// the id and the stream's duplicate-window, paced: 1s doubling to 1m while
// it goes on, with the number held back) and counted
// (stream.SendStats.Duplicates, the metric
// streambind_binding_duplicate_sends_total); a duplicate that answers the
// binder's own retry of a send whose PubAck was lost is neither. Transient failures (no PubAck within
// send-timeout, a lost connection, no stream answering) are retried up to
// send-attempts times with back-off (50ms doubling to 1s, jittered);
// connected but without a stream answering, the binder provisions the
// stream again (it may have been deleted) and the binding reports itself
// down for readiness while that fails. Refusals no retry fixes — a message
// over the server's max_payload or the stream's max-msg-size, one larger
// than the stream's max-bytes alone (refused before it is sent: with
// discard old JetStream would store it and drop it, and every older
// message, at once), a header NATS cannot carry — are stream.Permanent
// errors (a full stream's refusal, discard new, is retried), so the input is dead-lettered
// instead of redelivered forever. A PubAck that never comes at all (a
// publish lost in a failover) is given up twice send-timeout after the
// publish, so that such losses do not fill the producer's 4,096 pending
// acknowledgements and stall its later sends. nats.go's own retries of
// a publish no stream answered are off (the binder retries, and provisions
// first), so "no stream answering" is seen at once, whatever the
// send-timeout.
//
// SendAsync (stream.AsyncProducer: the output of a function binding
// processed pipelined, consumer.max-in-flight above 1, whose input is on
// a binder whose consumer pipelines — Kafka, RabbitMQ; this binder's
// consumer hands one message at a time per worker) makes the same
// checks as Send, with the same permanent errors, publishes the message
// on the caller's goroutine and returns; the producer's one goroutine
// waiting for PubAcks takes them in publish order, each within
// send-timeout of its publish, and calls done with what Send would have
// returned. Messages passed one after another from one goroutine are
// stored in that order (per partition subject) while nothing fails. A
// transient failure is retried as Send retries it (send-attempts,
// back-off, the stream provisioned again) on a goroutine of its own, after
// the messages published after it: such a message can be stored after
// messages sent after it (once only, within the duplicate-window). At
// most 4,096 SendAsyncs of a producer are unanswered (the JetStream
// context's pending PubAcks): SendAsync then waits for room, bounded by
// its ctx, whose error done gets (the message not sent). Close waits,
// bounded by its ctx, until every done was called; each is called once,
// also after Close's ctx ended (within its send-timeout and attempts).
//
// A message with an scst_partition header n (the core sets it on a
// partitioned binding) is published to <destination>.<n>, others to
// <destination>. Headers become NATS headers one to one; contentType is
// set from the binding when the message has none; the message key
// travels in x-streambind-key. JetStream stores at most 64 KiB of headers
// a message, key included: a send over that fails for good, its error
// naming the key's size. A value NATS cannot carry as it is (a line
// break, a control character, leading or trailing white space, or a value
// that itself starts with "=?") travels as an RFC 2047 encoded word
// "=?utf-8?b?<base64>?=" and is decoded on receipt. Header names must be
// printable ASCII without ':' or white space; names starting with "Nats-"
// are JetStream's and are refused on send and not passed to handlers.
//
// # Consumer
//
// Messages are pulled (prefetch at a time) and handed to the handler; the
// handler's result settles them:
//
//   - Ack (nil): acknowledged (a plain ack, not a double ack: an ack lost
//     with the connection means a redelivery — a duplicate, never a loss).
//   - Nak (stream.ErrNak, or a handler interrupted by Stop): NakWithDelay
//     (redelivery-delay), JetStream redelivers it then. During Stop the Nak
//     has no delay, so another member of the group takes it at once.
//   - Term (any other error): with dlq on a named group the dead letter is
//     published (and its PubAck awaited) and the message then terminated
//     (msg.Term); without dlq it is terminated (dropped; the core logged and
//     counted it).
//
// JetStream does the redelivery bookkeeping: ack-wait is how long a
// delivered message may stay unacknowledged before the server sends it
// again, and max-deliver (also spelt max-deliveries, the redis binder's
// name for the same setting) bounds the deliveries of one message —
// every Nak and every lapsed ack-wait counts one. It is not
// consumer.max-attempts: that many handler calls are made within one
// delivery (retries in process, by the core), so a message is handled
// at most max-attempts × max-deliver times. JetStream never delivers a
// message again after its last delivery, so the binder does not let one
// end silently: a Nak on the last delivery dead-letters the message (the
// cause names max-deliver; without dlq it is terminated, dropped), and
// when the last delivery is never acknowledged (its member crashed, or
// lost its connection) JetStream's max-deliveries advisory
// ($JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>, taken
// by one member of the group, in a queue group) makes a member read the
// message by its sequence and dead-letter it without handling it (needs
// dlq and permission to subscribe the advisory; without it a WARN line
// says so; a member that started while the durable had none watches it
// from when it reads a max-deliver set on the server). With the default
// -1 that never happens, as on the other binders, where a Nak'ed message
// comes back until it succeeds; set
// max-deliver only to bound a crash loop (a message whose handling kills
// the process) — and mind that here, unlike on Redis, Naks count.
// While a message is held — waiting for its turn behind others of its key,
// or in a handler that runs long — the binder sends in-progress acks every
// ack-wait/3, so the server does not redeliver it meanwhile. When the
// process did not run for ack-wait (stopped with SIGSTOP, frozen, starved
// of CPU) those acks did not go out and the server gave the held messages
// to another member: the binder then leaves the messages it held (and
// the first prefetch messages it reads in the third of ack-wait after it
// noticed the gap, where the server's deliveries to its open pull during
// the freeze wait) to that redelivery instead of handling them too, with
// one WARN an ack-wait; a message on its last delivery (max-deliver) is
// handled all the same. The messages whose handlers were running at the
// freeze are handled twice, and so can be those delivered during it that
// the binder reads only after that third of ack-wait (rare); a fresh
// message among those first prefetch waits an ack-wait.
//
// Dead letters go to subject dlq-name (default error.<destination>.<group>)
// in their own stream, named like a destination's: StreamName of that
// subject (error_orders_payment for destination orders and group payment;
// with a hash suffix when the subject holds '_': error_trial_orders_inventory-9d4543b3
// for destination trial_orders and group inventory). The "binding bound"
// line names both streams (stream, dlq_stream), and so does the binder's
// "created stream" line. The dead-letter stream
// is provisioned like a destination's — a consumer binding of the subject
// reads it, a dead-letters-of reader as a group of its own — but always
// with retention limits, whatever stream.retention says, and with the
// limits of dlq-stream (max-age 168h, no count or size limit, by default)
// instead of stream's max-age, max-msgs and max-bytes: a dead letter stays
// until streambind dlq replays or purges it (or dlq-stream's limits drop
// it). Under interest retention a stream drops at once what no consumer
// reads; under interest or workqueue a dead-letters-of reader's group
// removed each dead letter it acknowledged (streambind dlq ls then showed
// none); and a destination kept for an hour took its dead letters with it.
// A dead-letter stream that exists with workqueue or interest retention
// (made by hand, or by a streambind of before 2026-12-07 under
// workqueue) is used as it is, with a WARN at each bind that names it and
// what follows (JetStream does not change a stream's retention in place:
// replay or move its dead letters and delete it, and the next bind makes
// it again); one whose other settings differ from those above gets the
// WARN of differing settings. They keep the payload,
// key and headers and get stream.DeadLetterHeaders plus x-original-topic
// (the destination), x-original-partition (decimal, for a partition
// subject), x-original-subject, x-original-stream, x-original-sequence (the
// stream sequence, decimal) and x-original-timestamp (Unix milliseconds).
// A dead letter is fitted to the server's max_payload (or the dead-letter
// stream's max-msg-size or max-bytes, less its subject and 34 bytes, when
// smaller: over max-bytes it was refused for ever with discard new, and
// with discard old stored and dropped at once), and its headers to the 64 KiB
// (65,535 bytes) JetStream stores of a message's headers, with
// stream.FitDeadLetter, measured on the wire: exception texts are cut
// first, then original headers, then the payload (a headers-only dead
// letter whose x-original-* headers locate the original in its stream;
// kept header values over 256 bytes, such as a long id, are shortened
// with the exception texts);
// each cut is logged at WARN and counted (stream.DeadLetterReporter).
// Headers of another client's message that the binder does not send (a
// name with a lower-case nats- prefix, or with characters NATS header
// names cannot have) are left off the dead letter and listed in its
// x-streambind-truncated, whatever their number. One
// that cannot fit even so, or that the server refuses for its size even
// without payload or for its headers' size (err_code 10097), is dropped
// with an ERROR line and counted. A dead letter the server refuses for its size
// all the same (the dead-letter stream's max-msg-size was lowered after the
// bind) is fitted again to the stream's current limit without its payload
// (stream.DeadLetterLimit.DropPayload) and sent once more. Its Nats-Msg-Id is derived from the original's
// stream, the stream's creation time and the sequence, so a dead letter
// sent again is stored once, and one of a stream deleted and made again
// (whose sequences start over) is not taken for an earlier one's (one
// published by a version before 2026-12-06, whose id had no creation time,
// and published again after an upgrade, its original not settled by the
// old member, is stored twice: docs/conventions.md). A
// dead-letter publish that fails otherwise — for now (the dead-letter
// stream full, at its max-msgs or max-bytes with discard new; JetStream or
// the connection unavailable) or refused (no permission, a subject another
// stream captures: an operator may fix it) — is retried with back-off
// (redelivery-delay, at least 100ms, doubling to 5s, or kept when longer) for as long as it
// fails, and the failed message is held unacknowledged meanwhile, kept
// from redelivery by in-progress acks as a message whose handler runs:
// its handler is not called again for it. Before 2026-12-06 the message
// was Nak'ed after dlq-attempts attempts and handled again at each
// redelivery for as long as the stream refused. The worker holding it
// takes no other message (its ordering route waits; other workers go on),
// so a consumer whose dead-letter stream stays full stops once each worker
// holds one (back-pressure). A WARN names stream, sequence, dead-letter
// subject and error at the first failure, saying the message is held until
// the dead-letter stream takes it, and again at intervals doubling from 5s
// to 5m (DEBUG in between); an INFO says when the dead letter went. After
// dlq-attempts failed attempts the binding reports "cannot send dead
// letters" in readiness (stream.BindingHealthChecker) until a dead letter
// goes. The hold is no handler call: Pause does not wait for it (no
// attempt is made while paused; the message stays held). It ends when the
// dead letter goes (the message is terminated), when it cannot be sent at
// all (dropped, as above), and when the consumer stops (Stop, Close: the
// message is given back at once, Nak without delay, and Stop stays bounded
// by its ctx). On a message's last delivery (max-deliver) the publish is
// tried dlq-attempts times, then the message is left unacknowledged for
// the max-deliveries advisory (see below), as for a message of a stream
// deleted since, which is dead-lettered with dlq-attempts attempts or lost
// with its stream.
//
// consumer.batch-mode hands up to batch-size messages already received
// to the batch handler as one slice, those of each ordering route (see
// below) in stream order, a route in one batch at a time; the result
// settles every message of the batch (a stream.BatchOutcome each message
// by its own: acknowledged, Nak'ed, or dead-lettered with its own cause),
// and a batch held (Nak) holds back its routes. The handled messages
// before a failed one are acknowledged at once, before its retries
// (stream.BatchSettler), not when the batch's handling ends; one that
// failed for good is dead-lettered (or dropped) and settled with them
// before the messages after it are handled.
//
// A replayed copy that carries x-streambind-replay-group
// (stream.HeaderReplayGroup: streambind dlq replay sets it to the group
// whose dead letter it replays to that group's destination) is handled
// by that group's consumers only: a consumer of another group, an
// anonymous one or a batch-mode one acknowledges it without calling the
// handler (a DEBUG line), so that replaying one group's failures does not
// make the destination's other groups handle the message again.
//
// # Concurrency and ordering
//
// A consumer runs consumer.concurrency workers (package
// binder/internal/dispatch). A message waits in the FIFO of its ordering
// route — its scst_partition header, else its key — and any free worker
// takes the next message of a route no worker is handling, so messages of
// one partition (or key) are handled one at a time, in stream order, each
// after the previous one was settled, and a slow or held message holds
// back its route only (until the messages waiting behind it take up
// prefetch: intake holds no more, see below); messages with neither go to
// any free worker.
// Concurrency above the number of partitions and keys in flight leaves
// workers idle. With concurrency 1 and no batch mode the one worker takes
// everything received while it was busy in one hand-over (it is woken only
// when it waits), not a message at a time.
//
// Intake holds at most about prefetch messages at once (received and not
// yet settled, each kept alive with in-progress acks); when it holds that
// many it takes no more from the client's buffer (at most prefetch more)
// until one is settled, and when that takes longer than ack-wait/3 it stops
// pulling, takes the buffer in, and pulls again once half were settled.
// Keep prefetch × handler time / concurrency well below ack-wait all the
// same.
//
// The App adds little to this path: BenchmarkNATSConsumeApp (concurrency
// 1, default prefetch, 100-byte messages) measured the App's client CPU
// per message at 0.93–1.06× the bare binder's (about 9 µs a message).
//
// Order is kept within one binding. A Nak'ed message comes back after
// redelivery-delay, by then usually after later messages of its key (as
// on RabbitMQ; Kafka holds the partition instead). Members of one group
// pull from one durable consumer and share messages without regard to
// keys; partitioned consumers (instance-index) keep order across
// instances.
//
// A message the core gives back for the app's shutdown (stream.ErrNak with
// stream.ErrStopping: its retry back-off cut short, or held behind one
// that was) is Nak'ed without delay, once intake has ended (so that it is
// not delivered to this run again, behind the messages after it), before
// the messages of its partition or key queued behind it, which Stop gives
// back once its handler call returned: after a restart it comes first.
//
// Stop stops pulling, gives back (Nak, no delay) what it received and did
// not start — those of each partition and key in stream order, since
// JetStream redelivers in the order of the Naks, so that the member taking
// over (a rolling restart) keeps their order. Two things keep that order
// on the server: a pull that ends asks for nothing more (nats.go pulls
// again as its callbacks return; what the server delivers to a
// subscription already gone goes to the front of its redelivery queue,
// ahead of the Naks), and the Naks of a stopping group member are sent as
// requests, which JetStream answers once it has processed them, and Stop
// returns only after the answers (bounded by its ctx and api-timeout): the
// server processes acknowledgements apart from pull requests, so a pull
// made just after plain Naks was seen served newer messages first. At
// concurrency 1 the worker
// gives its queue back once its call in flight returned, so a slow handler
// holds them back that long — and waits (bounded by its
// ctx, after which the handlers' context is cancelled and their results
// count as Nak) for the handler calls in flight and settles them; an
// anonymous consumer's ephemeral consumer is deleted. Pause stops pulling
// and waits for the calls in flight; what was received stays with the
// binding (kept alive by in-progress acks) and is handled after Resume.
// An ephemeral consumer that the server removed during a long pause
// (inactive-threshold) is made again on Resume, starting after the last
// message received, as is any consumer the server lost (deleted, or gone
// with a restart), which the binder notices through missing pull
// heartbeats (nats.go's Consume reports jetstream.ErrNoHeartbeat 2x the
// heartbeat interval after the last message or heartbeat, so within about
// 2s) and a consumer info request (up to api-timeout more when the server
// does not answer). On a dead path (the socket open, nothing arriving)
// that info request waits out api-timeout, so the pull ends 6-7s after the
// path died; draining it then waits its 5s bound and another consumer
// info up to 2s, so the WARN "nats: consuming failed; retrying" with
// "nats: no heartbeat received" comes 13-14s in (docs/operations.md, "After
// a silent network failure"). Each pull asks for
// an idle heartbeat every second: an idle binding gets one small message
// a second (100 idle bindings: about 120 messages and 19 KB a second on
// the connection, 40 and 13 KB with nats.go's default of 5s). When the
// binding still holds
// messages or gave some back (Nak) that it has not seen settled since,
// the consumer made again starts at the lowest of them instead: their
// redelivery was the lost consumer's state, and they must not be lost
// with it (what was settled after them comes again: duplicates). This is
// one binding's knowledge: what other members of the group gave back may
// still be lost with a deleted consumer. A stream deleted at run time
// is provisioned again by the next send to it or by its consumers, which
// then read the new stream from its start (its sequences start over),
// whatever start-offset says; so is one deleted while a consumer binding
// was stopped, by its next Start, and a consumer bind looks its stream up
// afresh (not the binder's cached lookup of a producer's). A binding that finds its stream gone waits
// a second before it makes it again: the server tells the consumers of a
// stream being deleted before it has removed the stream's files, and a
// stream made again in that moment loses its own files to the removal
// (seen with NATS 2.9.10: publishes to it fail for good with 503,
// err_code 10077, or are acknowledged and never delivered). The removal
// of a stream with many message blocks may take longer than that wait:
// stop a destination's bindings before deleting its stream. JetStream's
// acknowledgements name a stream by name and a message by its sequence,
// so the messages a binding still held from the deleted stream are
// handled but not acknowledged, given back or kept in progress on the new
// one (that would settle the new stream's message of the same sequence:
// an Ack of old message 1 acknowledged new message 1 while its handler
// ran); a failed one is dead-lettered, else it is gone with its stream
// (a WARN). A member that sees no error of its own when the stream goes
// (it was not pulling) notices by its durable's creation time, at its next
// consumer info (every 5s), and a paused one at Resume too (a consumer
// info, and a stream lookup when the durable changed, before it handles
// what it holds): what a running one settles before that, in a stream
// that another member made again meanwhile, may settle the new stream's
// messages. What it received meanwhile from the new stream (its pulls
// name the durable, which the other member made again) is told from the
// old stream's by the time JetStream stored it, and acknowledged. Another
// reason to stop the bindings first.
//
// NATS server 2.9 loses track of a redelivered message that it tries to
// hand to a pull request whose client has gone away: the message then waits
// for ack-wait, and another is delivered twice. Before it gives messages
// back, a stopping or pausing consumer therefore makes the server drop its
// own finished pull requests (a consumer info request does that); a member
// that crashed can still cause it, and so can one that pauses or stops
// while the group's consumer has messages to redeliver (others' Naks): the
// server may try one on that member's pull request between its unsubscribe
// and that info request (a drain takes 100ms or more). Ack-wait recovers
// the message (TestBreakLifecycleNoAckWaitStall, skipped on 2.9, shows it).
//
// # Partitions
//
// A partitioned consumer (consumer.partitioned) of a named group, instance i of
// instance-count N reads the partitions p < partition-count with p % N == i
// (partition-count defaults to instance-count, so instance i reads
// partition i, as SCSt does) through a filtered durable consumer of its own
// (DurableName(group, i)). Filtering several subjects needs NATS server
// 2.10; on 2.9 a consumer that would need it fails to bind, saying so, and
// makes no consumer (2.9 would make one without any filter, reading the
// whole stream). Unlike Redis and the in-process binder, no instance reads
// partitions from partition-count on, nor the unpartitioned subject
// <destination>: with a producer's partition-count 4 and instance-count 2,
// partitions 2 and 3 reach nobody unless the NATS partition-count is 4
// (2.10) or 4 instances run. The binder warns (WARN) when it can tell: a
// partitioned producer binding where a group's partitioned durables leave
// some of its partitions unread, and a partitioned consumer binding where
// the stream holds messages that none of its instances reads.
// streambind lint reports the case from the configuration.
//
// # Connection, reconnection and health
//
// The binder has one NATS connection, dialled by the first bind (New does
// no I/O). A servers entry whose host or port the dial cannot use (a port
// given twice, nats://host:4222:99; a port outside 1-65535), one with an
// '@' after its host (a password holding an unencoded '/', '?' or '#':
// nats://u:12345/secret@h reads as host "u", port 12345; write them %2F,
// %3F, %23), or servers set but empty ("is empty"), is a configuration
// error at its key
// (NewApp, streambind lint), the entry not shown. A server that cannot be
// reached at that moment fails the bind
// with an error wrapped with stream.Unavailable — the app retries it with
// back-off until stream.binders.<name>.startup-timeout, the rule every
// binder follows — while refused credentials, a TLS failure and a server
// without JetStream fail it at once with an error saying so. After that,
// nats.go reconnects for ever, with the binder's jittered exponential
// back-off (reconnect-initial-interval doubling to reconnect-max-interval);
// the back-off starts over only once a connection stayed up for
// reconnect-stable-interval, so a server that drops every connection is
// not redialled in a tight loop. Authentication errors while reconnecting
// are retried too (the credentials may be fixed on the server). Sends made
// while disconnected wait in nats.go's reconnect buffer (8 MB) until the
// connection is back or their send-timeout expires. Health
// (stream.HealthChecker) is the connection's state: up while connected,
// down while reconnecting or closed, with the disconnection's error (and
// the last failed reconnect attempt's), and down with the connect error
// while binds have tried and failed to make the first connection (up
// before any bind tried); it does no I/O and does not wait for a
// reconnect attempt in progress (it reads the state nats.go's callbacks
// reported, not the connection, whose lock an attempt holds for up to
// connect-timeout).
// A dead server that does not close its socket is noticed after
// ping-interval × max-pings-outstanding.
//
// # Configuration
//
// Binder settings are read from stream.nats.binder and then
// stream.binders.<name>.environment (which wins); keys are kebab-case,
// camelCase is accepted, and an unknown key is an error naming its path
// (values are read as package binder/props describes; a duration is a Go
// duration or a number of milliseconds):
//
//	servers: nats://127.0.0.1:4222  # comma-separated or a list (alias url); nats, tls, ws or wss; port 4222 when none (80 for ws, 443 for wss, as nats.go)
//	name: streambind                # connection name, shown by the server's monitoring
//	username: ""                    # with password; or user info in a server URL
//	password: ""                    # never printed: removed from every error and log line
//	token: ""                       # token authentication (never printed)
//	credentials-file: ""            # a .creds file (decentralised auth), checked when the settings are read: a valid, unexpired user JWT and that user's nkey seed; "file:" dropped, "classpath:" refused
//	tls:                            # TLS is on when this section is present (enabled: false turns it off); or tls: true
//	  enabled: true
//	  ca-file: ""                   # PEM; default: the system roots
//	  cert-file: ""                 # client certificate and key, PEM, together
//	  key-file: ""
//	  server-name: ""               # default: the server's host name
//	  insecure-skip-verify: false
//	  handshake-first: false        # TLS before the INFO exchange (servers with handshake_first)
//	connect-timeout: 5s             # one dial (TCP, TLS, CONNECT)
//	reconnect-initial-interval: 100ms
//	reconnect-max-interval: 5s      # not below reconnect-initial-interval
//	reconnect-stable-interval: 10s  # a connection up this long resets the back-off
//	ping-interval: 10s
//	max-pings-outstanding: 2
//	api-timeout: 5s                 # JetStream API requests (provisioning)
//	domain: ""                      # JetStream domain (leaf nodes)
//	dlq-claim-bucket: streambind-dlq-claims  # key-value bucket of the claims of streambind dlq replay and purge (letters, digits, - and _); a --lease other than 30s has one of its own, named with its milliseconds: streambind-dlq-claims-6000ms
//	stream:                         # streams the binder creates (existing ones are used as they are)
//	  retention: limits             # limits | interest | workqueue (workqueue allows one consumer per subject: one group); dead-letter streams are always made with limits
//	  storage: file                 # file | memory
//	  replicas: 1                   # 1..5
//	  max-age: 168h                 # 7 days, like Kafka's default retention; 0: unlimited; dead-letter streams have dlq-stream's
//	  max-msgs: -1                  # -1: unlimited; dead-letter streams have dlq-stream's
//	  max-bytes: -1                 # -1: unlimited (bytes, or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it); dead-letter streams have dlq-stream's
//	  max-msg-size: -1              # bytes of one message, headers included; -1: the server's max_payload (bytes, or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it)
//	  duplicate-window: 2m          # how long a Nats-Msg-Id is remembered for de-duplication; at most max-age (a shorter max-age is the default then)
//	  discard: old                  # old | new: what a full stream drops (new: refuses sends)
//	dlq-stream:                     # dead-letter streams the binder creates: these limits instead of stream's, not inherited from it (their other settings are stream's, their retention always limits)
//	  max-age: 168h                 # a dead letter not replayed or purged within it is gone; 0: unlimited
//	  max-msgs: -1                  # -1: unlimited; when full the oldest go (discard old), or a failed message is held until there is room (discard new)
//	  max-bytes: -1                 # -1: unlimited (bytes, or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it)
//
// Producer properties, stream.nats.bindings.<binding>.producer (or
// stream.nats.default.producer):
//
//	send-timeout: 5s                # wait for one PubAck
//	send-attempts: 10               # attempts for transient failures; at least 1
//
// Consumer properties, stream.nats.bindings.<binding>.consumer:
//
//	ack-wait: 30s                   # at least 1s; how long an unacknowledged delivery waits before redelivery
//	max-deliver: -1                 # deliveries (Naks and lapsed ack-waits count), then dead-lettered; -1: unlimited; else at least 1; alias max-deliveries
//	max-ack-pending: 1000           # unacknowledged messages of the consumer, all members together; -1: unlimited
//	prefetch: 128                   # messages pulled ahead and held per binding; at least 1
//	redelivery-delay: 100ms         # before a Nak'ed message comes back; 0: at once
//	dlq-name: ""                    # default error.<destination>.<group>; a subject without wildcards
//	dlq-attempts: 3                 # failed dead-letter publishes before readiness reports dead letters down (the message stays held, retried); on a last delivery, attempts before it is left to the max-deliveries advisory
//	start-offset: ""                # earliest | latest for a new group's consumer (default earliest) or an anonymous one (default latest)
//	inactive-threshold: 1m          # anonymous consumers: the server removes one idle this long
//	partition-count: 0              # partitioned consumers: partitions to share; 0: instance-count
//	batch-size: 64                  # batch mode: most messages per call
//
// Keys of the core (stream.bindings.<binding>.consumer) apply as on every
// binder: concurrency, max-attempts and back-off (retries in process),
// dlq, partitioned, instance-index, instance-count, batch-mode.
package nats
