package stream

import "time"

// Header names used on the wire. They follow Spring Cloud Stream so that
// streambind services interoperate with SCSt services on the same brokers.
const (
	HeaderContentType = "contentType"
	HeaderID          = "id"
	HeaderPartition   = "scst_partition"
	HeaderKey         = "key"
	// HeaderSendToDestination on a function's or supplier's output sends
	// it to the binding or destination it names instead of the output
	// binding (SCSt's routing FROM a function; see docs/conventions.md,
	// "Event routing"). It is not sent on.
	HeaderSendToDestination = "spring.cloud.stream.sendto.destination"

	HeaderExceptionMessage    = "x-exception-message"
	HeaderExceptionStacktrace = "x-exception-stacktrace"
	HeaderExceptionFQCN       = "x-exception-fqcn"
	HeaderOriginalTopic       = "x-original-topic"
	HeaderOriginalPartition   = "x-original-partition"
	HeaderOriginalOffset      = "x-original-offset"
	HeaderOriginalTimestamp   = "x-original-timestamp"
	HeaderOriginalExchange    = "x-original-exchange"
	HeaderOriginalRoutingKey  = "x-original-routingKey"
)

// Default content type of a binding (CONVENTIONS: content-type).
const DefaultContentType = "application/json"

// Headers are the string headers of a message. A nil Headers is valid and
// empty; [Headers.Set] on a nil map is not, so use [Headers.With] when the map
// may be nil.
type Headers map[string]string

// Get returns the value of header k, or "" (nil-safe).
func (h Headers) Get(k string) string { return h[k] }

// Clone returns a copy of h (nil stays nil).
func (h Headers) Clone() Headers {
	if h == nil {
		return nil
	}
	c := make(Headers, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

// With sets k=v, allocating the map if h is nil, and returns it.
func (h Headers) With(k, v string) Headers {
	if h == nil {
		h = make(Headers, 4)
	}
	h[k] = v
	return h
}

// Envelope is a message as binders see it: an encoded payload, its headers
// and its message key (never the partition key, which selects the
// partition only). Binders send and receive Envelopes;
// user code sees typed values or [Message].
//
// Envelopes are passed by value so that the hot path does not allocate.
type Envelope struct {
	// Payload is the encoded body. Binders must not modify it after Send
	// returned, nor keep it after the handler returned unless they copied it.
	Payload []byte
	// Headers may be nil.
	Headers Headers
	// Key is the message key (record key on Kafka), empty when none. On a
	// partitioned send it is the key the sender gave, never the
	// partition-key-expression's value (as in SCSt, the partition key
	// selects the partition only); an Envelope's own Key given to the
	// bridge selects the partition, a [Message] output's Key does not.
	// The selected partition is in Headers[HeaderPartition].
	Key []byte
	// NativeHeaders, when set, hold header values in the binder's own
	// types, for a producer of the same binder to send as they were read
	// (Headers carries them as text). A dead letter read through a
	// [DeadLetterStore] carries them so that its replay sends its headers
	// as they were: RabbitMQ's are the AMQP field values of the headers
	// that are not strings (an int, a table, x-death), and under a key of
	// its own that names no header the AMQP properties an Envelope does
	// not carry (content_encoding, correlation_id, ...). A producer sends
	// NativeHeaders[k] in place of Headers[k] only while Headers[k] still
	// reads as it (the text the binder makes of it), so that a header
	// changed or removed on the way wins; a value it cannot send goes as
	// its text, with a warning. Kafka's are the values of a header that a
	// record carries more than once (Headers has the last), under a key
	// that names no header, so that its dead letter, retry copy and their
	// replay write them all while a function's output (which carries no
	// such key) writes the one value. Binders whose headers
	// are text (NATS, Redis, in-process) ignore it for now; one could
	// carry what its text loses the same way (a NATS header's other
	// values). A consumer binder may set them on live deliveries too
	// (RabbitMQ's non-string header values, Kafka's headers a Java
	// producer typed as Integer, Boolean, ...): a function's output
	// carries those of the headers it keeps (payload output or Message
	// output) to a producer of the input's binder type, so that it sends
	// them as they came, as SCSt passes the header objects through (one
	// of another type gets the headers as text only).
	NativeHeaders map[string]any
	// Received is how the message was received: set by consumer binders
	// on what they hand to a handler, zero on an output. Producers ignore
	// it: it is never sent (the in-process binder, which sends nothing,
	// delivers the fields one given to it sets, for stream/streamtest).
	Received Received

	// lazy: headers the binder has not copied into Headers yet
	// (SetLazyHeaders); nil once LoadHeaders ran, and on every envelope a
	// handler gets unless its ConsumerSpec.LazyHeaders is set.
	lazy LazyHeaders

	// keyOnly: Key is a Message output's (messageKey): the message key
	// only. On a partitioned binding the partition-key-expression still
	// selects the partition, as SCSt's KafkaHeaders.KEY beside one does;
	// an Envelope's own Key selects it.
	keyOnly bool
}

// Received is how an input message was received: the destination it was
// read from, and where and when the binder found it. It is what Spring
// Cloud Stream gives a handler as the received headers (Spring Kafka's
// kafka_receivedTopic, kafka_receivedPartitionId, kafka_offset,
// kafka_receivedTimestamp; Spring AMQP's amqp_receivedExchange,
// amqp_receivedRoutingKey, amqp_consumerQueue, amqp_redelivered), which
// streambind's binders give here rather than as headers (the RabbitMQ
// binder gives the amqp_* ones as headers too, as SCSt's does): a
// routing-expression or an idempotency key-expression that names one of
// them reads it from here (see docs/conventions.md, "Received metadata").
//
// The zero Received is "not known": an output, a message a supplier made,
// a dead letter read through a [DeadLetterStore]. Every field has a zero
// that means "the binder does not tell". Its strings are the binder's own
// (the destination's name is one string for every message of a consumer):
// it costs no allocation per message.
//
// It describes the input it came with and is never copied to an output:
// a function that returns its input Message sends it without it, and
// changing it changes nothing the binder does.
type Received struct {
	// Destination is the destination the message was read from, as the
	// binding's destination names it: the item of a comma-separated list
	// that this message came from, without the binder's prefix (RabbitMQ's
	// prefix, Redis's key-prefix) and without a partition suffix. A
	// message that came back from a RabbitMQ wait queue (retry-delays)
	// reports the destination it was first read from, one from a Kafka
	// retry topic that retry topic (as Spring Kafka's retry topics do:
	// its partition and offset are the retry topic's, and with the main
	// topic's name they would name another record); a
	// binding reading dead letters (dead-letters-of) reports the
	// dead-letter destination it reads. Empty when not known.
	Destination string
	// Partition is the partition the message was read from, valid when
	// HasPartition is set: the Kafka record's partition (always set on
	// Kafka); on a partitioned consumer (consumer.partitioned) the
	// partition index: the NATS subject's <destination>.<n>, the Redis
	// stream <destination>:<n>, the RabbitMQ consumer's instance-index
	// (its queue is bound to that partition's routing key; an anonymous
	// one, which gets every partition's messages, the message's
	// scst_partition), the in-process message's scst_partition. Not set
	// ("none") on a consumer that is not partitioned, other than Kafka's,
	// nor for a message sent to no partition.
	Partition int
	// HasPartition tells that Partition is set.
	HasPartition bool
	// HasOffset tells that Offset is set.
	HasOffset bool
	// Redelivered is set when the binder knows that the message was
	// delivered before: RabbitMQ's redelivered flag (amqp_redelivered), a
	// JetStream delivery count above 1, a Redis entry claimed or read
	// again from the group's pending list (delivery count above 1). Kafka
	// and the in-process binder do not tell (false).
	Redelivered bool
	// Offset is the message's position, valid when HasOffset is set: the
	// Kafka record's offset, the JetStream stream sequence, the in-process
	// destination's sequence number (from 1). RabbitMQ and Redis do not
	// set it (see EntryID).
	Offset int64
	// EntryID is the message's position when it is not a number: the
	// Redis stream entry ID ("1712345678901-0"). Empty on the other
	// binders.
	EntryID string
	// Stream is the Redis stream key the entry was read from, key-prefix
	// and partition suffix included ("shop:orders:1"): entry IDs are
	// numbered per stream, and a consumer that is not partitioned reads
	// the destination's partition streams too, so EntryID alone does not
	// name the entry. Empty on the other binders.
	Stream string
	// Timestamp is the message's time, zero when not known: the Kafka
	// record's own timestamp (on a topic with message.timestamp.type
	// LogAppendTime still the producer's: kafka-go does not read the
	// batch's append time), the time JetStream stored the message, the time in the Redis
	// entry ID (milliseconds), the AMQP timestamp property when the
	// publisher set it (seconds; streambind's producers do not), the time
	// the in-process binder stored the message (milliseconds).
	Timestamp time.Time
	// Exchange is the exchange the RabbitMQ message was published to, as
	// the broker names it (with the binder's prefix; "" for the default
	// exchange, as a message back from a wait queue or dead-lettered by
	// the broker may report). Empty on the other binders.
	Exchange string
	// RoutingKey is the RabbitMQ message's routing key. Empty on the other
	// binders.
	RoutingKey string
	// Queue is the RabbitMQ queue the message was consumed from (with the
	// prefix; an anonymous consumer's own queue). Empty on the other
	// binders. A Received with a Queue, Exchange or RoutingKey is of a
	// message received from RabbitMQ: expressions read its amqp_* headers
	// (amqp_redelivered from Redelivered), null otherwise.
	Queue string
}

// LazyHeaders are a received message's headers as its binder read them off
// the wire, not yet copied into a [Headers] map. A consumer binder that
// can hands them to a handler that asked for them
// ([ConsumerSpec.LazyHeaders]), so that a handler that reads no header, or
// a few, does not pay for a map a message: on NATS, where the client has
// parsed the headers already, the map and its garbage were about a tenth
// of the client's CPU a message (docs/benchmarks.md).
//
// Implementations must be safe for concurrent reads and read the same
// until the binder settles the message: after the handler returned (an
// AsyncHandler's: after done was called). A handler that keeps an
// envelope longer loads its headers first ([Envelope.LoadHeaders]); the
// Redis binder's read its entry's reply, which it lets go of then, while
// the NATS binder's stay valid for good.
type LazyHeaders interface {
	// Lookup returns the value of header k and whether the message has it,
	// as the header would read in the map Load returns.
	Lookup(k string) (string, bool)
	// Load returns a new map of every header; nil or empty when the message
	// has none. The caller owns the map.
	Load() Headers
}

// SetLazyHeaders gives e the headers h, read on demand (see [LazyHeaders]):
// for consumer binders, on what they hand to a handler whose
// [ConsumerSpec.LazyHeaders] is set. Headers already in e.Headers win over
// h's of the same name.
func (e *Envelope) SetLazyHeaders(h LazyHeaders) { e.lazy = h }

// Header returns the value of header k, "" when the message has none: from
// Headers, else from the binder's lazy headers when they are not loaded
// yet (see [Envelope.LoadHeaders]). A handler bound with
// [ConsumerSpec.LazyHeaders] reads headers through it (or LoadHeaders),
// never from Headers directly.
func (e *Envelope) Header(k string) string {
	if v, ok := e.Headers[k]; ok || e.lazy == nil {
		return v
	}
	v, _ := e.lazy.Lookup(k)
	return v
}

// LoadHeaders copies the binder's lazy headers, if e has any, into
// e.Headers (a value already there wins) and returns e.Headers, which then
// hold every header of the message. Without lazy headers it returns
// e.Headers as they are. The map it makes is e's own: an Envelope copied
// before the call keeps its lazy headers and loads its own.
func (e *Envelope) LoadHeaders() Headers {
	if e.lazy == nil {
		return e.Headers
	}
	all := e.lazy.Load()
	e.lazy = nil
	if len(all) == 0 {
		return e.Headers
	}
	for k, v := range e.Headers {
		all[k] = v
	}
	e.Headers = all
	return all
}

// headersCopy returns a map of every header of e that is the caller's own.
func (e Envelope) headersCopy() Headers {
	if e.lazy != nil {
		if all := e.lazy.Load(); len(all) > 0 {
			for k, v := range e.Headers {
				all[k] = v
			}
			return all
		}
	}
	return e.Headers.Clone()
}

// ContentType returns the message's contentType header, or def when absent
// or empty; a header that is a JSON string ("\"application/json\"") as its
// text ([NormalizeContentType]), def when that text is empty ("\"\"").
// It reads lazy headers without loading them.
func (e Envelope) ContentType(def string) string {
	if ct := NormalizeContentType(e.Header(HeaderContentType)); ct != "" {
		return ct
	}
	return def
}

// Message is a typed payload with its headers. Use it as the input or output
// type of a registered function when the function reads or sets headers.
//
// An output Message with a contentType header is encoded with the converter
// of that content type, not the binding's (a []byte or string payload is
// sent as it is); one no converter is registered for fails with a permanent
// [ConversionError], so the function's input is dead-lettered.
type Message[T any] struct {
	Payload T
	Headers Headers
	// Key is the message key. On an input it is the key the message
	// arrived with: the Kafka record key (SCSt's kafka_receivedMessageKey
	// header), the x-streambind-key header on RabbitMQ and NATS (which is
	// not among Headers), the entry's key field on Redis; nil when it
	// has none. It is the function's own copy: changing it changes neither
	// what a retry of the message sees nor the key of its dead letter.
	//
	// On an output it is the key to send with: the Kafka record key
	// (x-streambind-key on RabbitMQ and NATS, the key field on Redis).
	// Without a Key, a kafka_messageKey header (Spring Kafka's
	// KafkaHeaders.KEY, [HeaderMessageKey]) is the key, and is not sent
	// on; without either the message has no key, also on a partitioned
	// binding: as in SCSt, the partition key is not sent as the key. On a
	// partitioned binding the partition-key-expression still selects the
	// partition, as SCSt's KafkaHeaders.KEY beside one: a
	// function that returns its input Message is partitioned as
	// configured (an [Envelope]'s Key, given to the bridge, selects the
	// partition instead). A binding's message-key-expression wins over
	// it on Kafka. An output does not take its input's key by itself:
	// set Key: in.Key to keep it. In a composition a part gets the Key
	// of a Message the part before it returned, none after a plain
	// value.
	Key []byte
	// Received is how an input Message was received (see [Received]):
	// the destination of a binding that lists several it was read from,
	// and the binder's partition, offset and time. Zero on a Message that
	// was not received (a supplier's, an output). An output's is ignored:
	// it is never sent. In a composition a part that takes a Message gets
	// the input's Received after a plain value, as it gets the input's
	// headers, and a Message's own after one.
	Received Received
}

// NewMessage returns a Message with payload p and headers taken from kv
// pairs ("k1", "v1", "k2", "v2", ...); an odd trailing key is ignored.
// Its Headers map is never nil, so that headers can be set on it
// (m.Headers["k"] = "v") with or without pairs given.
func NewMessage[T any](p T, kv ...string) Message[T] {
	m := Message[T]{Payload: p, Headers: make(Headers, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Headers[kv[i]] = kv[i+1]
	}
	return m
}
