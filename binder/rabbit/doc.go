// Package rabbit is streambind's RabbitMQ binder (binder type "rabbit"), on
// github.com/rabbitmq/amqp091-go. Register it with
// stream.WithBinderType(rabbit.Type, rabbit.New).
//
// # Topology (CONVENTIONS.md, SCSt-compatible names)
//
// Declared idempotently when a binding is bound, and again after every
// reconnection:
//
//   - destination → durable topic exchange (not auto-delete; exchange-type
//     changes the type).
//   - group → durable queue <destination>.<group> bound with "#"
//     (binding-routing-key changes it); a partitioned consumer binds
//     <destination>.<group>-<instance-index> with key <destination>-<instance-index>.
//   - anonymous consumer → exclusive auto-delete queue
//     <destination>.anonymous.<random id>, declared by Start.
//   - dlq: true (named groups) → durable direct exchange DLX and durable queue
//     <destination>.<group>.dlq bound with key <destination>.<group>.
//   - producer required-groups → the queues <destination>.<group> bound with
//     "#" (what non-partitioned consumers use); with
//     partitioned-required-groups, SCSt's per-partition queues
//     <destination>.<group>-<p> bound with <destination>-<p>.
//
// A declaration the broker refuses ("inequivalent arg") is a
// [*TopologyError] naming the entity and the differing argument.
//
// # Producer
//
// Messages are persistent; headers map to AMQP string headers, the content
// type to the content_type property and the contentType header, the id
// header to message_id (else a generated id), Envelope.Key to the
// x-streambind-key header (moved back into Key on receipt). A partitioned
// message (scst_partition header) is routed with <destination>-<partition>,
// others with routing-key (default: the destination). Publishing is
// mandatory: a message no queue takes is returned and Send fails with
// [ErrUnroutable] (mandatory: false opts out). Send returns once the broker
// confirmed the message; a nack is [ErrNacked].
//
// Confirms are pipelined: the binder publishes over publisher-channels
// channels ("lanes") of a publisher connection of its own; a lane's
// publishing is serialised (a channel is not safe for concurrent
// publishing), at most confirm-window messages per lane are unconfirmed,
// and concurrent Sends share a lane, so N concurrent senders need about one
// round trip per window, not per message. While the broker blocks the
// connection (a memory or disk alarm) Sends wait, bounded by their ctx, and
// then fail; none is dropped. One caveat: amqp091-go sets no write
// deadline, so a publish already writing when the alarm begins, with enough
// bytes to fill the socket buffer (large messages), waits for the alarm to
// clear while holding its lane; the other Sends of that lane still fail
// when their ctx ends.
//
// # Consumer
//
// Manual acks: a message is acked after its handler returned nil (with any
// output send confirmed). The core's retries run inside the handler; the
// binder settles the result: Nak → basic.nack with requeue; Term →
// with dlq, published (confirmed) to DLX with the x-exception-* headers and
// x-original-exchange / x-original-routingKey, and only then acked — a
// failed dead-letter publish requeues the message instead; without dlq,
// rejected without requeue (dropped, or dead-lettered by the broker when the
// queue has dead-letter-args). requeue-rejected: true requeues failed
// messages instead (SCSt's option; beware of endless redelivery). A handler
// panic is a Term error.
//
// # Concurrency and ordering
//
// A consumer runs consumer.concurrency workers, each with its own FIFO. A
// delivery goes to the worker chosen by a hash of its scst_partition header,
// else its key, else round robin: messages of one partition (or key) are
// handled one at a time, in queue order, each after the previous was acked.
// prefetch bounds the unacked deliveries of the channel (default 128; SCSt's
// 1 costs a broker round trip per message — with 128,
// BenchmarkRabbitConsume/binder runs at or above the raw client). A Nak'ed message is
// requeued by the broker and may then come after later messages of its key.
// Pause stops handing messages to the handler and waits for the calls in
// flight; the subscription (and the prefetched, unacked messages) stay, so
// an anonymous queue survives a pause. Stop waits for the calls in flight,
// then closes the channel: the broker requeues what was prefetched.
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
//
// Each connection (publisher, consumer) is dialled lazily by the first
// bind, watched with NotifyClose, and re-dialled with jittered exponential
// back-off (reconnect-initial-interval … reconnect-max-interval), cycling
// through addresses, until the binder is closed. Consumers re-subscribe
// (re-declaring their topology); Sends waiting for a confirm whose channel
// was lost publish again on the next channel. Duplicates are possible,
// losses are not.
//
// # Settings
//
// Binder settings, in stream.binders.<name>.environment or
// stream.rabbit.binder (the environment wins; camelCase accepted; any
// other key is an error naming it; values are read as package binder/props
// describes):
//
//	addresses: 127.0.0.1:5672          # comma list of host[:port], tried in turn
//	uri: (none)                        # amqp[s]://user:pass@host:port/vhost, instead of addresses/credentials
//	username: guest
//	password: guest                    # never logged: URIs are redacted (see Redact)
//	virtual-host: /
//	connection-name: streambind        # shown in the management UI, with -publisher/-consumer
//	heartbeat: 10s
//	connection-timeout: 5s             # TCP connect + AMQP handshake
//	reconnect-initial-interval: 100ms
//	reconnect-max-interval: 5s
//	publisher-channels: 2              # publishing lanes per binder
//	confirm-window: 256                # unconfirmed messages per lane
//	tls:                               # or ssl; amqps:// URIs enable it
//	  enabled: false                   # true when the tls map is given
//	  ca-file: (system roots)
//	  cert-file: / key-file: (none)    # client certificate
//	  server-name: (the host)
//	  insecure-skip-verify: false
//
// Consumer properties, stream.rabbit.bindings.<binding>.consumer (and
// stream.rabbit.default.consumer):
//
//	prefetch: 128
//	requeue-rejected: false
//	exchange-type: topic               # topic, direct, fanout, headers
//	binding-routing-key: "#"
//	quorum: false                      # x-queue-type quorum (SCSt quorum.enabled accepted)
//	ttl: (none)                        # x-message-ttl, a duration or milliseconds
//	max-length: (none)                 # x-max-length
//	single-active-consumer: false      # x-single-active-consumer
//	dead-letter-args: false            # x-dead-letter-exchange DLX / -routing-key <dest>.<group>, as SCSt's auto-bind-dlq declares
//	queue-name-group-only: false       # the queue is named <group>
//	declare-exchange: true
//	bind-queue: true
//	batch-size: 64                     # batch mode: most messages per batch
//
// To read a DLQ directly: destination DLX, group <destination>.<group>.dlq,
// queue-name-group-only: true, declare-exchange: false, bind-queue: false.
//
// Producer properties, stream.rabbit.bindings.<binding>.producer:
//
//	exchange-type: topic
//	routing-key: (the destination)     # for non-partitioned messages
//	mandatory: true
//	declare-exchange: true
//	binding-routing-key: "#"           # for required-groups queues
//	partitioned-required-groups: false
//	quorum, ttl, max-length, single-active-consumer, dead-letter-args: as above, for required-groups queues
package rabbit
