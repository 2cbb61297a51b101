// Package memory is streambind's in-process binder: a message broker that
// lives inside the Go process, and a [stream.Binder] that binds to it.
//
// It is the embedded default binder (binder type "memory"): the default of
// an App that registers it (stream.WithBinderType(memory.Type, memory.New),
// as the streambind command and the examples do) beside no other binder
// type and declares no binder; package stream itself registers none, so
// that a service links only the binders it uses. Use it to develop
// and test an application without Kafka or RabbitMQ, to run several apps of a
// system in one test process (they share one [Broker]), and as the
// reference implementation of the binder SPI that the conformance suite in
// package bindertest checks every binder against.
//
// # Broker and binder
//
// A [Broker] holds destinations, consumer groups and their queues. It is safe
// for concurrent use and outlives the binders that use it: [Factory] returns
// a [stream.BinderFactory] whose binders share one broker, so that apps in
// one process exchange messages; [New] is a factory that gives every binder
// a fresh private broker, closed with the binder. Closing a binder releases
// only its own bindings; [Broker.Close] ends everything.
//
// Durability is the broker's lifetime: a named group keeps its messages and
// its position while its consumers are stopped or its binders closed and
// reopened, but nothing survives the process. Closing the broker (the
// app's shutdown, a SIGTERM, with a binder made by [New]) discards the
// messages its groups still hold — queued, or parked for a delayed retry —
// with a WARN per group that held any ("memory: broker closed with
// messages not yet consumed; they are discarded", with destination, group
// and discarded, the count), as does the end of an anonymous consumer,
// whose queue goes with it ("memory: anonymous consumer ended with
// messages not yet consumed; ...").
//
// # Destinations, groups and queues
//
// A destination is created by the first binding that names it. Each consumer
// group of a destination has its own queue (a partitioned group has one per
// instance), and a send stores one copy of the message in every group's
// queue, so every group gets every message and the consumers of one group
// compete for it. Send returns nil once the message is stored in all of them
// — the in-process "broker confirm" — or an error, in which case it was
// stored in none. A message sent to a destination without groups is dropped,
// as an exchange without bound queues drops it; a producer's required-groups
// are provisioned when the producer is bound, so those groups miss nothing.
//
//   - Named group: its queue is created by the first consumer binding (or
//     required-groups) and kept until the broker is closed. Stopped,
//     restarted or newly bound consumers of the group resume where it stood.
//   - Anonymous consumer (group ""): a private queue that exists only while
//     the consumer is started; it starts at the latest message and gets
//     every partition's messages also when partitioned (partitioned
//     applies to a named group only, as in SCSt).
//   - Partitions: a message whose stream.HeaderPartition header holds p goes
//     to partition p (no or malformed header: partition 0). A group whose
//     consumers are partitioned with instance-count N has N queues; instance
//     i receives the partitions with p % N == i. The first consumer binding
//     fixes a group's layout; a group with no live consumer bindings (for
//     example one provisioned by required-groups) is re-laid out for the
//     next one, keeping its messages and their per-partition order. The
//     queues of the instances not bound on the broker (those that would run
//     in other processes) are read by nobody: once buffer-size messages
//     fill one, every send to the destination blocks. Binding a partitioned
//     consumer of a named group with instance-count > 1 logs a WARN saying
//     so (set partitioned: false for the in-process profile), and
//     streambind lint warns of it.
//
// # Back-pressure and memory
//
// Every queue holds at most buffer-size messages. Send blocks while a queue
// it must store into is full, until a consumer frees space, ctx ends (a
// wrapped ctx error) or the broker is closed; memory never grows without
// bound. (A Nak'ed message is put back even into a full queue, so a queue can
// briefly exceed its capacity by the number of messages in flight.)
//
// The broker does not copy payloads: an Envelope's Payload, Key and Headers
// are shared with the handlers that receive it and must not be modified after
// Send. When a message goes to more than one queue, each queue after the
// first gets its own copy of the Headers map.
//
// As on the wire binders, every message carries an id header and a
// contentType header: Send writes those a message lacks (a unique id —
// a random per-producer prefix and a counter — and the producer binding's
// content type) into a copy of its headers, and keeps the caller's. An
// idempotent consumer keys on the id by default. A message that has both
// goes from Send to the handler without allocating; one that lacks them
// costs the new headers map and the id's string.
//
// A received message's [stream.Received] tells its destination (the one
// of the consumer binding's destinations it was sent to), its offset (the
// destination's sequence number, from 1), its timestamp (when Send stored
// it, in milliseconds) and, on a partitioned consumer, its partition (the
// partition header's). An Envelope sent with a Received of its own (a
// test's, through stream/streamtest; the core sends none) is delivered
// with it: the binder fills in only the fields it left zero, and the
// destination is always the consumer's.
//
// # Acknowledgement
//
// A message leaves its queue when a consumer takes it. What happens next
// depends on the handler's result (see the stream package doc):
//
//   - nil (Ack): done.
//   - an error matching [stream.ErrNak] (Nak), or any error from a handler
//     whose context the binder cancelled (a Stop that ran out of time): after
//     a short redelivery delay — cut short by Stop — the message goes back to
//     the front of its queue, before newer messages, so per-partition order
//     holds.
//   - any other error (Term): with consumer.dlq on a named group, the message
//     is sent to destination stream.DLQName(destination, group) with the
//     headers of [stream.DeadLetterHeaders] plus x-original-topic,
//     x-original-partition (decimal) and x-original-timestamp (Unix
//     milliseconds). If that send fails the message is Nak'ed instead, never
//     lost. Without a DLQ it is dropped and logged at debug level (the core
//     logs failures itself). Dead letters are ordinary messages: bind a
//     consumer with a named group to the DLQ destination before they are
//     produced, or they are dropped like any message to a destination
//     without groups.
//   - a handler panic is recovered and treated as a Term error.
//
// In batch mode (consumer.batch-mode) a consumer takes up to batch-size
// messages that are already waiting, without waiting for more, and calls the
// BatchHandler; a plain outcome applies to the whole batch (Term with a DLQ
// dead-letters each message), a stream.BatchOutcome to each message by its
// own (the handled ones acknowledged, the failed ones dead-lettered with
// their own cause, the Nak'ed ones put back). The messages the core
// settles early (stream.BatchSettler: the handled ones before a failed
// one, before its retries) need no ack here; they are left out of what
// the outcome settles, so a Stop that interrupts the retries does not put
// them back. One that failed for good, settled early with them before the
// messages after it, is dead-lettered (or dropped) then.
//
// # Concurrency and ordering
//
// A started consumer runs consumer.concurrency workers that take messages
// from its queue. Each message has an ordering route: its partition when it
// carries the partition header, else its Key when non-empty, else none. A
// route hashes to one of the consumer's concurrency slots; a worker owns the
// slot of the message it handles, and another worker skips messages of an
// owned slot (looking at most 256 messages ahead) until the owner is done and,
// on Nak, has put its message back. So messages of one partition (or key) are
// handled one at a time and in order, while messages of other slots, and
// messages without a route, go to any idle worker. Ordering holds within one
// consumer binding; competing members of one non-partitioned group share its
// queue and do not coordinate, so use partitioned consumers where order
// across instances matters.
//
// Consumers are created stopped. Start begins delivery; Pause stops intake
// and waits (bounded by its ctx) for in-flight handler calls to finish, so
// nothing is delivered until Resume; Stop stops intake and waits for in-flight
// calls, and when its ctx ends first it cancels the handlers' context, so
// that their messages are Nak'ed back to the queue. Pause and Resume on a
// stopped consumer do nothing.
//
// A consumer with concurrency 1 hands a waiting message to its handler in
// about 0.08 µs of CPU; an App's typed []byte consumer costs about 0.2 µs
// more a message (BenchmarkMemoryConsumeApp: 3.3–3.5× the bare binder's
// CPU, mostly the core's handler timing, retry wrapper and decoding).
//
// # Configuration
//
// Binder settings (stream.binders.<name>.environment and
// stream.memory.binder; camelCase accepted; values are read as package
// binder/props describes) and their defaults:
//
//	buffer-size: 1024   # capacity of each queue this binder provisions
//	batch-size:  64     # largest batch handed to a batch-mode consumer
//
// Any other key is an error. Bindings have no memory-specific properties:
// stream.memory.bindings.<name>.{consumer,producer} must be empty. A
// consumer binding's destination may list several destinations,
// comma-separated; the consumer then runs concurrency workers per
// destination. On a shared broker ([Factory]) the buffer-size applies to the
// queues that this binder's bindings create; a group's queue keeps the
// capacity it was created with. Broker-wide defaults are set with [Config].
package memory
