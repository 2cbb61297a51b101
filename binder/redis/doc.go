// Package redis is streambind's Redis Streams binder (binder type "redis"),
// built on github.com/redis/go-redis/v9. Register it with
//
//	stream.WithBinderType(redis.Type, redis.New)
//
// It needs Redis 6.2 or later (XPENDING IDLE, XTRIM MINID, ZADD GT) on a
// single server (or a primary at one address); Redis Cluster is not
// supported, since a consumer reads a destination's streams with one
// command, which Cluster allows only within one hash slot. It keeps the
// delivery semantics of the Kafka and RabbitMQ binders (docs/conventions.md):
// at least once, acknowledged after the handler succeeded, Nak redelivered
// after redelivery-delay, Term dead-lettered to error.<destination>.<group>
// with Spring Cloud Stream's x-exception-* headers.
//
// # Names
//
// A destination is a stream whose key is key-prefix + destination
// ("orders", or "app1:orders" with key-prefix "app1:"). A partitioned
// producer writes partition n to the stream <destination>:<n>
// ("orders:2"), chosen by the core's SCSt-compatible partition selection
// (the scst_partition header). A named group is a consumer group of that
// name on each stream of the destination; each consumer binding is a
// member named <client-name>-<host>-<pid>-<random>: a new name each
// start, so that a member that stops leaves the group (XGROUP
// DELCONSUMER), and one that was killed is deleted by the others once
// its entries were reclaimed and it read nothing for an hour (XINFO
// CONSUMERS shows it until then). Dead letters go to the
// stream error.<destination>.<group> (dlq-name overrides it; the key
// prefix applies), which its first dead letter makes: streambind dlq finds
// no dead letters (rather than no dead-letter stream) while the binding's
// group is on one of its destination's streams (its own or a partition's). Producers record each partitioned destination's
// partition count in the sorted set <key-prefix>streambind:partitions
// (ZADD GT: it only grows), from which consumers learn which partition
// streams to read; no destination may be named streambind:partitions. A
// destination should not end in ":<digits>" unless it is meant as another
// destination's partition.
//
// # Entries
//
// A message is one stream entry with a field per header, "h:<name>"
// (sorted by name), then "key" (the message key, when there is one), then
// "payload" (the bytes as sent). Every entry carries h:contentType (the
// binding's content type when the message has none) and h:id (when the
// message has none, a unique one: a random UUID per producer and a counter,
// "<uuid>-<n>"), so that consumers can de-duplicate. One field per
// header rather than a single encoded headers field: Redis stores the
// field names of consecutive entries that share them once per stream node,
// so repeated header names cost nothing per entry, where an encoded blob
// repeats them in every entry; the entries also read plainly with
// redis-cli XRANGE, and another program can read "payload" and the
// headers it knows without a decoder. Values are binary-safe. An entry
// without a payload field, written by another program (XADD orders *
// sku 42 qty 1), is delivered as a JSON object of its fields
// ({"qty":"1","sku":"42"}, content type application/json unless it has
// h:contentType); a field named key is in that object and is the
// message's key as well. An entry with a payload field delivers only payload,
// key and the h: fields: its other fields (XADD orders * payload {..}
// trace 7) reach neither the handler nor its dead letter, so a replay
// does not restore them; a field name given twice keeps its last value.
// A received message's Payload is the bytes read from the connection,
// not a copy of them (a group member's new entries: a slice of one
// string holding the entry, which its Key, ID and header values share
// when the entry is at most 512 bytes; a larger entry's are copies, so
// that keeping them does not keep the payload): read-only, as
// stream.Handler says.
// A consumer group's message carries header x-redis-deliveries, Redis's
// delivery count of the entry (1 the first time; reads and claims count,
// as for max-deliveries): the binder's, set from Redis whatever the entry
// holds (an h:x-redis-deliveries field is not passed on, nor is it on a
// message read without a group).
//
// # Producer
//
// Send appends the message with XADD and returns once Redis answered,
// with the error otherwise. Concurrent sends of a binding are written
// together as pipelines (up to batch-size XADDs each, two pipelines in
// flight), so a lone send costs one round trip and many concurrent sends
// share them. Every XADD caps its stream at about max-length entries
// (MAXLEN ~; see Trimming).
//
// Durability: Redis acknowledges a write from memory. A server that
// crashes loses what it acknowledged since its last fsync — everything
// since the last snapshot without appendonly, up to a second with
// appendonly yes and appendfsync everysec, nothing with appendfsync always
// — and a failover loses what the replica had not received. wait-replicas
// adds a WAIT after each pipeline: the send returns only once that many
// replicas have the write, or fails after wait-timeout (not retried: the
// entry is stored, and a retry would store it twice). WAIT makes a write
// survive a failover, not a crash of every copy; configure appendonly on
// the server for that.
//
// Transient failures (lost or refused connections, timeouts, LOADING,
// BUSY, READONLY, MASTERDOWN, OOM, MISCONF, too many clients) are retried
// up to send-attempts times with back-off (50ms doubling to 1s). A reply
// lost with its connection may have been executed: a retried send can be
// stored twice (at least once, never lost). Failures no retry fixes are
// returned as stream.Permanent (the core dead-letters the input, not
// retrying it): a message over max-message-size (refused before it is
// sent), a destination key that holds another type (WRONGTYPE), an ACL
// refusal (NOPERM); the last two also report the producer binding down
// (stream.BindingHealthChecker) until a send succeeds again.
//
// SendAsync (stream.AsyncProducer: the outputs of a function binding
// processed pipelined, docs/conventions.md "Pipelined processing" — a
// Kafka or RabbitMQ input with a Redis output; a Redis consumer hands its
// handler one message at a time, so a Redis input is not pipelined)
// builds the XADD as Send does, with the same checks and errors, and
// queues it on the binding's ordered lane: one goroutine that writes one
// pipeline at a time (what is queued, up to batch-size XADDs, plus WAIT
// with wait-replicas) and retries its transiently failed XADDs, with the
// back-off above, before it writes the next. So one caller's SendAsyncs
// are stored in call order per stream, also across a lost connection or a
// busy or loading server (a retried XADD whose reply was lost may be
// stored twice, the copy after the original); a message that failed for
// good (permanently, or after send-attempts) may be followed by later
// ones. (Only a transient refusal of one XADD of a pipeline whose later
// XADDs were stored — the server's state changing within the pipeline —
// could let them come first.) Its done gets what Send would have returned,
// on the lane's goroutine. SendAsync blocks while the lane's queue
// (4 × batch-size) is full, bounded by its ctx (done then gets ctx's
// error). A Send issued while SendAsyncs of the binding are unanswered
// goes behind them, on the lane: SendAsync(m1) then Send(m2) stores m1
// first. Close waits, bounded by its ctx, until every SendAsync was
// answered; when its ctx ends first, the queued ones fail with
// stream.ErrClosed at once and the pipeline being written gets its
// outcome. BenchmarkRedisPublish's binder-async side (one goroutine,
// pipelines of 256) measured 1.0–1.4× raw go-redis's rate in the same
// shape.
//
// # Consumer
//
// A named group is created on the destination's streams at bind time
// (XGROUP CREATE ... MKSTREAM; an existing group is kept): from the first
// entry (start-offset earliest, the default, as Kafka's named groups), or
// from new entries only (latest). The first Start logs a WARN for each other
// group of those streams with pending or unread entries and no consumer
// (a stopping binding leaves its group; the parking consumer
// streambind-released does not count) that no consumer binding of the
// binder reads (an app binds all its bindings before it starts one, so
// its own groups are known then): most likely an earlier
// deployment's group under another name, whose entries nothing reads again
// (delete it with XGROUP DESTROY); groups with a consumer, however long
// idle (another service's, paused or with every handler slot busy), are
// not named. Each consumer binding reads on a
// connection of its own (a blocking read must not hold one of the shared
// pool's): XREADGROUP ... > with COUNT up to its hold limit (see below)
// minus what it holds, shared among the streams it reads (with less room
// than streams, as many streams at a time as it has room for, in turn,
// and a wait on all of them once those were empty),
// waiting up to 2s; Stop and Pause end the wait at once with CLIENT
// UNBLOCK. At Start, and after every failed read, it first takes back its
// own pending entries that it does not hold (XPENDING ... consumer, then
// XRANGE; neither counts a delivery), so that entries Redis delivered
// with a reply the connection lost are not stuck; a Start skips that
// when nothing can be pending for the member (a new binding, or one whose
// last Stop gave back every entry, see below).
//
//   - Ack (nil): the entry is acknowledged (XACK), in batches, after the
//     handler returned; the binding holds it until Redis confirmed the
//     acknowledgement, retrying transient failures with back-off. With
//     concurrency 1 (no batch mode) a reply's acknowledgements go in one
//     XACK, in the same round trip as the next XREADGROUP, or on their
//     own when that read does not come within about 1ms, or waits for new
//     entries, and on Pause and while a Nak'ed entry waits.
//   - Nak (stream.ErrNak, or a handler interrupted by Stop): the entry stays
//     pending and is held for redelivery-delay, then handled again — no
//     sooner, and never while the binding is paused; the rest of its route
//     (see Concurrency) waits for it, as a Kafka partition does. Pause does
//     not wait for the hold. Stop gives the entry back to the group.
//   - Term (any other error): with dlq on a named group the entry is
//     dead-lettered and then acknowledged; without dlq it is dropped
//     (acknowledged; the core has logged and counted it).
//
// Entries the binding holds — waiting for their turn, in a handler, or
// held after a Nak — are kept from other members: every claim-min-idle/3
// a script resets their idle time (XCLAIM ... JUSTID, which does not count
// a delivery) if the binding still owns them; those another member has
// reclaimed and still holds pending (this process was paused or cut off
// past claim-min-idle) are left to it unless already in a handler, with
// one WARN. Those pending with no one are handled: trimmed from the stream
// while held (their fields are here), or already acknowledged by the
// member that reclaimed them (a duplicate: Redis keeps no record of who
// acknowledged an entry). When a member stops holding
// entries without acknowledging them — it crashed, was killed, lost its
// connection for longer than claim-min-idle — the others reclaim them:
// every claim-interval, and at Start (before its first read of new
// entries, so that those a stopped member gave back are handled before
// later ones of their partition or key), each member looks for entries of
// the group idle for at least claim-min-idle (XPENDING IDLE) and claims
// them (XCLAIM with that minimum idle time, so two members never both
// get one), as many as its hold limit has room for (the Start's reclaim:
// as many as prefetch has room for, so that the entries a stopped member
// gave back are all handled before newer ones); when more wait (members
// that died together, a crash loop) it claims the next ones as soon as
// half of its hold limit is free again, not a claim-interval later. An entry Redis has delivered more than max-deliveries times
// (every read and claim counts; taking back its own entries after a lost
// connection does not) is not handled again: it is
// dead-lettered with the reason (or dropped without dlq) — a message that
// crashes every member that takes it does not go round for ever.
//
// max-deliveries (also spelt max-deliver, the nats binder's name for the
// same setting; setting both is an error) counts deliveries by Redis, not
// handler calls: consumer.max-attempts is how many calls one delivery
// gets (retries in process, by the core), so an entry is handled at most
// max-attempts × max-deliveries times. A Nak does not count here (the
// binding holds the entry and handles it again itself), unlike on NATS,
// where JetStream redelivers a Nak'ed message; only a member that stops
// holding an entry unacknowledged (crashed, lost its connection for longer
// than claim-min-idle) spends a delivery. That is why the default is 10
// here and -1 (unlimited) on NATS. On both, an entry that reaches the limit
// is not left behind unhandled: with dlq it is dead-lettered (the reason
// names the limit), without it is dropped and logged.
//
// A group member holds (reads ahead, reclaims) no more entries than it
// starts soon. Its hold limit is what its workers start within a tenth of
// claim-min-idle at the handler's measured cost an entry (a moving
// average of the handler calls; while entries wait on routes being
// handled, a partition or a key, only the workers busy count: with
// concurrency 8 and one key, one), at least one call's worth a worker
// (concurrency, times batch-size in batch mode), at most prefetch; it
// reads again once half of that is settled. With the default
// claim-min-idle (30s), entries that cost less than about 23ms each are
// held up to prefetch, as before; a 1s handler with concurrency 1 holds
// 2 or 3. Entries that wait behind an earlier one of their key or
// partition (in a handler or queued before them), which no idle worker
// can start, count against the limit beyond the limit's worth of them
// only: one slow key does not keep the member from reading the other
// keys' entries for its idle workers, and a member whose entries are all
// of one key holds twice its limit at most. Until its first entries are handled (a new binding; the cost
// outlives Stop and Start) a member holds one call's worth a worker, so
// that members started together share a first burst. With prefetch alone, two
// members with a 1s handler given 24 entries at once shared them 23 to 1:
// the other member sat idle while one worked for 23s, and a crash of that
// one left them all waiting for claim-min-idle. Why a tenth of
// claim-min-idle: an entry read is started long before the first refresh
// that keeps it from reclaims is due (claim-min-idle/3), so one waiting in
// memory is never near being reclaimed, and a crash delays about what the
// member was handling, not what it read ahead. The Start's reclaim takes
// as many as prefetch has room for (above). An anonymous consumer, whose
// entries no one else reads or reclaims, holds up to prefetch.
//
// Stop ends intake and reclaiming, waits (bounded by its ctx) for the
// handler calls in flight and the acknowledgements, then gives back every
// entry still pending for the member: they are claimed for the consumer
// name streambind-released with their idle time set to claim-min-idle
// (XCLAIM ... IDLE ... JUSTID), so the next reclaim of any member takes
// them at once, and the member is deleted from the group. Entries read
// ahead that no handler call saw are parked with their delivery count one
// lower (RETRYCOUNT), since the claim that takes them again counts one:
// restarts spend none of their max-deliveries. A server that
// does not answer holds Stop (and the binder's Close) for about twice
// command-timeout, not for its whole ctx: a CLIENT UNBLOCK unanswered
// within command-timeout cuts the reader's connection (a read waiting for
// its answer, nothing of it received), and the last acknowledgements are
// retried for command-timeout and then given up on — Stop returns an
// error saying how many handled entries may be delivered again (they stay
// pending: duplicates, never losses) — and then nothing is given back
// (other members reclaim the entries after claim-min-idle; a group's only
// member takes them again when it starts). Members that
// have had nothing pending and read nothing for an hour (those of crashed
// instances, once reclaimed) are deleted by the others. A group (or
// stream) deleted while consumed is created again from the last entry the
// binding received.
//
// An anonymous consumer (no group) reads with XREAD, starting after the
// last entry of each stream at Start; nothing is acknowledged and there is
// no dead-letter stream: dlq on an anonymous consumer is refused at
// start-up (ValidateConsumer and BindConsumer, "DLQ support is not
// available for anonymous subscriptions", at the key that set it), as on
// Kafka and NATS, since the dead-letter stream is named after the group
// (before 2026-12-06 such a binding started, with a WARN, and dropped its
// failed messages); set a group, or dlq: false. A Nak is held and handled
// again as above, a Term drops the message, and what a stopped anonymous
// consumer had not handled is gone, as anonymous subscriptions are.
//
// # Partitions
//
// An unpartitioned consumer reads the destination's own stream and every
// partition stream the registry lists (or partition-count, when set), and
// so does an anonymous consumer also when partitioned (partitioned applies
// to a named group only, as in SCSt); a partitioned consumer of a named
// group, instance i of instance-count n, reads the
// partitions p with p % n == i (among max(partition count, n)), and
// instance 0 also reads the destination's own stream, so that messages
// sent without a partition are not left unread. Either shape reads with
// the group's one consumer group on each stream, so a group made
// partitioned or unpartitioned (instance-count 1 ↔ 2) goes on where it
// was, as after any redeploy (the durables of NATS and the queues of
// RabbitMQ are each shape's own: there the old shape's are left with a
// backlog). Consumers look for new partitions every 2s; a group is
// created on a new partition from its first entry, and an anonymous
// consumer reads it from its start, so that a producer bound later loses
// nothing.
//
// # Concurrency and ordering
//
// consumer.concurrency bounds the handler calls running at once. Entries
// of one partition stream are handled one at a time, in stream order, each
// after the one before it was settled; so are entries with the same key
// on the destination's own stream. Entries of the destination's own stream
// without a key have no order between them when concurrency is above 1
// (with concurrency 1 every entry is handled in stream order). An entry
// waits in the FIFO of its route (partition, else key), and any free
// worker takes the next entry of a route no worker is handling, or the
// next entry without a route: a held (Nak'ed) or slow entry holds back its
// route and only its route (until the entries waiting behind it take up
// the hold limit, see Consumer).
// consumer.batch-mode delivers up to batch-size entries as one slice,
// those of each route in stream order, a route in one batch at a time;
// a plain outcome applies to the whole batch (a batch held holds back its
// routes); a stream.BatchOutcome settles each entry by its own (the
// handled ones acknowledged, the failed ones dead-lettered with their own
// cause, those Nak'ed held and handled again). The handled entries before
// a failed one are acknowledged (XACK) at once, before its retries
// (stream.BatchSettler), not when the batch's handling ends; one that
// failed for good is dead-lettered (or dropped) and acknowledged with them
// before the messages after it are handled.
//
// The App adds little to this path: BenchmarkRedisConsumeApp (concurrency
// 1, default prefetch, 100-byte payloads) measured the App's client CPU
// per entry at 0.93–1.05× the bare binder's (about 6 µs an entry).
//
// # Dead letters
//
// A dead letter keeps the payload, key and headers and gets
// stream.DeadLetterHeaders plus x-original-topic (the destination),
// x-original-partition (decimal, for a partition stream),
// x-original-stream (the stream key), x-original-id (the entry ID),
// x-original-group, x-original-timestamp (milliseconds, from the entry ID)
// and x-original-deliveries (Redis's delivery count, when known; not
// x-redis-deliveries, which is not written into a dead letter, so that a
// replayed copy starts without it; a dead letter written by an earlier
// version with x-redis-deliveries is read as x-original-deliveries). It is fitted
// to dead-letter-max-size (16 MiB by default: Redis takes values up to
// proto-max-bulk-len, 512 MB, but a dead-letter stream should not hold
// that; field names and a margin of 64 bytes are counted) with
// stream.FitDeadLetter: the exception texts are shortened, then original
// headers dropped, then the payload (a headers-only dead letter whose
// x-original-* headers locate the message; kept header values over 256
// bytes, such as a long id, are shortened with the exception texts), and
// x-streambind-truncated
// lists what was cut, with a WARN line. A dead letter that does not fit
// even so, or that Redis refuses for good (WRONGTYPE, NOPERM), is dropped
// with an ERROR line and counted, and the entry acknowledged: one message
// never stops a stream. A transient failure holds the entry, as on
// RabbitMQ and NATS: unacknowledged (the handler is not called again for
// it; its worker waits), its dead letter written again with back-off
// (from redelivery-delay, at least 100ms, to 5s; a longer
// redelivery-delay stays; each wait ±20% at random), counted in flight (each of a batch's entries
// until it is acknowledged), its WARN lines paced (5s doubling to 5min,
// DEBUG between); after 3 failed attempts the consumer binding's Health
// reports its dead letters down until one is written. Stop gives the
// entry back. The consumer binding reports the counts
// (stream.DeadLetterReporter: truncated, headers-only, dropped).
//
// A dead letter is written once, also when its write is retried after a
// reply that was lost (a timeout or a cut connection after Redis had run
// it): one script adds it to the dead-letter stream and acknowledges the
// entry, and does either only while the entry is still pending with the
// member. The retry finds the entry acknowledged and writes nothing (an
// INFO line says so); an entry another member reclaimed meanwhile is left
// to it (it dead-letters it if it fails there too). An attempt held up on
// the way that reaches Redis after a later one is checked in the same
// way. Where the group or the stream is gone, or the member created the
// group again since it read the entry (after the last entry it received:
// the entries it held are then pending with nobody), nothing tells: the
// dead letter is written without the check (and the acknowledgement
// fails or acknowledges nothing, as before). A dead letter of more than 7,000 field names and values (some
// 3,500 headers; Redis's Lua takes no more as a command's arguments) is
// checked by the script and then written with the acknowledgement in one
// MULTI/EXEC: a retry after a lost reply finds it acknowledged too, but an
// attempt held up on the way past the next one's check is stored twice.
// The scripts use only stream commands (+@stream, +eval); the MULTI/EXEC
// needs +multi and +exec (in the ACL list below). Without them Redis
// refuses the MULTI and runs the XADD and XACK after it on their own: the
// dead letter is written, but the consumer sees the refusal (NOPERM ...
// 'multi') and logs and counts the message dropped.
//
// A replayed copy that carries x-streambind-replay-group
// (stream.HeaderReplayGroup: streambind dlq replay sets it to the group
// whose dead letter it replays to that group's destination) is handled
// by that group's consumers only: a consumer of another group, an
// anonymous one or a batch-mode one acknowledges it without calling the
// handler (a DEBUG line), so that replaying one group's failures does not
// make the destination's other groups handle the message again.
//
// # Trimming
//
// Streams are never kept unbounded:
//
//   - max-length (100,000 by default): every XADD trims its stream to
//     about that many entries (MAXLEN ~, whole stream nodes, so a few
//     dozen more may stay), whether or not they were read — a group more
//     than max-length entries behind loses the oldest ones. The trimmer
//     logs a WARN when a group is within 80% of it.
//   - trim-acked (on by default): every trim-interval (5s) the binder
//     trims each stream its bindings use up to the oldest entry some group
//     still needs — for each group its oldest pending entry, or its last
//     delivered one when nothing is pending (XTRIM MINID ~: Redis removes
//     whole stream nodes only, of up to 100 entries by default
//     (stream-node-max-entries), so a stream of a few dozen entries may
//     keep them all, acknowledged or not, until it grows). A stream a
//     consumer reads is trimmed for the binder's life, one a producer
//     writes while the producer is open (a dynamic destination's until
//     the send bridge evicts its producer: max-length and the trimmers of
//     the apps reading it bound it after that). A stream
//     without groups is trimmed only by max-length and max-age; a group
//     that is never read again holds its stream up to max-length (delete
//     it with XGROUP DESTROY).
//   - max-age (off by default): entries older than that go too, read or
//     not.
//
// The dead-letter streams of the binder's bindings are trimmed by
// max-length and max-age, those of the destinations (a Kafka dead-letter
// topic has the broker's retention, a NATS dead-letter stream the
// binder's dlq-stream limits, 168h by default): with max-age set, a dead
// letter not replayed within it is gone, and beyond max-length the
// oldest go first. trim-acked does not apply to them: a
// dead-letters-of reader's group acknowledging them leaves them for
// streambind dlq. Keep max-age longer than dead letters must wait for an
// operator (streambind dlq ls / replay).
//
// An entry trimmed while still pending is acknowledged with an ERROR line
// when a member meets it. max-length -1 (no cap) is accepted only with
// trim-acked or max-age.
//
// # Errors
//
// Redis errors are classified once, for every path: refused logins
// (WRONGPASS, NOAUTH), ACL refusals (NOPERM), WRONGTYPE, syntax and other
// ERR replies and TLS failures are permanent; lost, refused or timed-out
// connections and LOADING, BUSY, TRYAGAIN, CLUSTERDOWN, MASTERDOWN,
// READONLY, MISCONF, OOM, NOREPLICAS and "max number of clients reached"
// are transient and retried with back-off. go-redis's own retries are
// off (the binder knows which commands are safe to retry), and it dials
// once per attempt.
//
// # Start-up
//
// The binder follows the app's start-up rule: a BindProducer or
// BindConsumer that cannot reach the server (refused or timed-out
// connection within dial-timeout, DNS failure, a server still loading its
// data) fails with an error wrapped with stream.Unavailable, and the app
// retries the bind with back-off until stream.binders.<name>.startup-timeout
// (60s; readiness 503 meanwhile); the binder logs each failed attempt at
// DEBUG ("redis: connection attempt of a bind failed", as the rabbit
// binder does), the core's retry WARN line being the one said at higher
// levels. A refused login, an ACL refusal or a TLS
// failure is not wrapped: start-up fails at once, saying so. So is a TLS
// mismatch: when the first connection times out with TLS on, or is closed
// by the server with TLS off, the binder looks (a plain-text PING, or a
// TLS handshake without a client certificate; no credentials) and, when
// the server answers in plain text where TLS is on, or speaks TLS where
// it is off, fails saying so, instead of "cannot reach the server:
// context deadline exceeded" retried until startup-timeout.
//
// # Health
//
// Health (binder_up, readiness) reports a background PING every
// health-interval (2s), bounded by health-timeout (2s), started with the
// first binding: down within about health-interval + health-timeout of the
// server going away, up within health-interval of its return; the reason
// is the PING's (a refused connection, a reset, a TLS or login failure),
// "does not answer PING within health-timeout" only when it timed out. A binder
// without bindings is up. Producer and consumer bindings report themselves
// down (stream.BindingHealthChecker) while their keys cannot be used
// (WRONGTYPE, NOPERM, a group that cannot be created again).
//
// # Connections and security
//
// go-redis keeps a pool of connections (pool-size; go-redis's default is
// 10 per CPU) and dials again when one is lost; each consumer binding adds
// one connection for its blocking reads, kept from Stop to the next Start
// (closed with the binder). Every connection is named
// client-name (CLIENT SETNAME), so CLIENT LIST shows the binder's. The
// INFO line "redis: connected" gives the address and whether TLS is on.
// TLS is on with a tls section (or a rediss:// url); a rediss:// url with
// tls.enabled: false (or tls: false) is refused at that key, rather than
// one of them silently ignored.
//
// url and address both set: within one source url wins, as Spring Boot's
// spring.data.redis.url overrides host and port, so that an environment
// variable (STREAM_REDIS_BINDER_URL) overrides the file's address; the
// binder's stream.binders.<name>.environment wins over stream.redis.binder
// whichever of the two it sets (its address replaces only the host and
// port of the other's url: the url's user, password, db and TLS still
// apply). The same holds for the url's user info against username and
// password: within one source the url's user and password win (as
// spring.data.redis.url overrides them), so that a url with rotated
// credentials in STREAM_REDIS_BINDER_URL overrides a file's password; a
// username or password of the binder's environment wins over the url of
// stream.redis.binder; a url without user info takes them from the keys.
// Its database (/n) likewise wins over db set in the same source or an
// earlier one; a url without one takes db.
// A url or address whose host or port the dial cannot use (a port given
// twice, redis://host:6379:99, which go-redis reads as host "host:6379";
// a port outside 1-65535), or one set but empty ("is empty"), is a
// configuration error at its key (NewApp, streambind lint), the url not
// shown, rather than an outage retried; a host that does not resolve is
// an outage. So is a url with an '@' after its host (a password holding
// an unencoded '/', '?' or '#': write them %2F, %3F, %23). An address
// is host, host:port, [IPv6] or [IPv6]:port; an IPv6 address without
// brackets is refused (its last group could be meant as the port).
// A WARN line at start-up names the setting ignored and the one used,
// when they differ.
//
// username and password log in
// with ACL (AUTH user password; password alone for requirepass). The
// password, and any password in url, never appears in an error or log
// line; errors are also passed through package redact. go-redis (v9.23)
// reports some connection failures through its own process-wide logger
// (stderr, unstructured, by default; it has no logger per client); the
// binder does not change it, since that would change every go-redis
// client of the process — in main, goredis.SetLogger(GoRedisLogger{Logger:
// slog.Default()}) routes those lines to slog (WARN, redacted), and
// logging.Disable (go-redis/v9/logging) drops them, as the CLI does.
//
// An ACL user needs these permissions (key-prefix sb: here; add +select
// with a db other than 0 and +wait with wait-replicas):
//
//	ACL SETUSER app on >password resetkeys ~sb:* resetchannels -@all
//	    +@stream +ping +hello +auth +client|setname +client|id +client|unblock
//	    +eval +evalsha +multi +exec +zadd +zscore
//
// The streambind dlq commands (list, replay, purge; they use the service's
// configuration, so its user) also claim each dead letter they work on
// with a key <stream>:dlq-claim:<entry ID> (SET NX PX, renewed and
// released in scripts, so that two operators never replay one twice): add
// +set +get +del +pexpire +exists for them. Without +set, purge prints
// how many it purged (0) and fails on the first claim with NOPERM.
//
// Without +client|unblock, Stop and Pause wait up to 2s for a blocking read
// to end. +multi and +exec write a dead letter of more than 7,000 fields
// and values (some 3,500 headers) with its acknowledgement (see "Dead
// letters").
//
// # Configuration
//
// Binder settings are read from stream.redis.binder and then
// stream.binders.<name>.environment (which wins); keys are kebab-case,
// camelCase is accepted, and an unknown key is an error naming its path
// (values are read as package binder/props describes; a duration is a Go
// duration or a number of milliseconds — except health-timeout, whose bare
// number is seconds, as on the Kafka binder and SCSt's healthTimeout):
//
//	address: localhost:6379        # host:port (alias addr; the port defaults to 6379)
//	url: ""                        # redis://[user:password@]host[:port][/db] or rediss://…; wins over address (package doc, "Connections and security")
//	username: ""                   # ACL user; with password
//	password: ""                   # never printed
//	db: 0
//	client-name: streambind        # CLIENT SETNAME of every connection; no white space
//	key-prefix: ""                 # before every key the binder uses
//	dial-timeout: 5s               # each connection attempt, and the bind's first PING (at least 100ms)
//	command-timeout: 5s            # each command's reply (at least 100ms)
//	pool-size: 0                   # shared connections; 0: go-redis's default (10 per CPU)
//	health-interval: 2s            # between health PINGs (at least 100ms)
//	health-timeout: 2s             # bound of each PING (at least 100ms, at most 5 × health-interval); a bare number is seconds, as Kafka's
//	max-length: 100000             # approximate cap of every stream, on each XADD; -1: none
//	trim-acked: true               # trim up to the oldest entry some group still needs, every trim-interval (XTRIM MINID ~: whole nodes of ~100 entries, so a short stream may keep all); not dead-letter streams
//	max-age: 0                     # trim entries older than this; 0: off
//	trim-interval: 5s              # between trims (at least 100ms)
//	max-message-size: 536870912    # bytes of payload, key and headers a send may have (512 MiB) (bytes, or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it)
//	dead-letter-max-size: 16777216 # bytes a dead letter is fitted to (16 MiB, or max-message-size when lower; at most max-message-size) (bytes, or a size: 16KB, 1MB; KB = 1024 bytes, as Spring reads it)
//	tls:                           # TLS is on when this section is present (enabled: false turns it off)
//	  enabled: true
//	  ca-file: ""                  # PEM; default: the system roots
//	  cert-file: ""                # client certificate and key, PEM
//	  key-file: ""
//	  server-name: ""              # default: the host of address
//	  insecure-skip-verify: false
//
// Producer properties, stream.redis.bindings.<binding>.producer (or
// stream.redis.default.producer):
//
//	send-attempts: 5               # attempts per send for transient failures (at least 1)
//	batch-size: 256                # most XADDs per pipeline
//	wait-replicas: 0               # WAIT for this many replicas after each pipeline; 0: off
//	wait-timeout: 1s               # longest WAIT (at least 100ms)
//
// Consumer properties, stream.redis.bindings.<binding>.consumer:
//
//	start-offset: earliest         # where a new group starts: earliest | latest
//	claim-min-idle: 30s            # an entry pending this long with no member holding it is reclaimed (at least 100ms)
//	claim-interval: 5s             # between looks for such entries (at least 100ms)
//	max-deliveries: 10             # deliveries (reads and claims; Naks do not count) after which an entry is dead-lettered unhandled; -1: unlimited; alias max-deliver
//	redelivery-delay: 100ms        # hold before a Nak'ed message is handled again; 0: at once
//	prefetch: 128                  # most entries a binding holds (read, unsettled); a group member holds no more than its workers start within claim-min-idle/10 at the handler's measured cost
//	batch-size: 64                 # largest batch in batch mode
//	dlq-name: ""                   # default error.<destination>.<group>
//	partition-count: 0             # partitions to read; 0: what producers registered
package redis
