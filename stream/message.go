package stream

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
// and, on the way out, the partition key. Binders send and receive Envelopes;
// user code sees typed values or [Message].
//
// Envelopes are passed by value so that the hot path does not allocate.
type Envelope struct {
	// Payload is the encoded body. Binders must not modify it after Send
	// returned, nor keep it after the handler returned unless they copied it.
	Payload []byte
	// Headers may be nil.
	Headers Headers
	// Key is the message key (record key on Kafka), empty when none: on a
	// partitioned send the partition key, unless it is a [Message]
	// output's Key (which does not select the partition); the selected
	// partition is in Headers[HeaderPartition].
	Key []byte
	// NativeHeaders, when set, hold header values in the binder's own
	// types, for a producer of the same binder to send as they were read
	// (Headers carries them as text). A dead letter read through a
	// [DeadLetterStore] carries them so that its replay sends its headers
	// as they were: RabbitMQ's are the AMQP field values of the headers
	// that are not strings (an int, a table, x-death). A producer sends
	// NativeHeaders[k] in place of Headers[k] only while Headers[k] still
	// reads as it (the text the binder makes of it), so that a header
	// changed or removed on the way wins; a value it cannot send goes as
	// its text, with a warning. Binders whose headers are text (Kafka's
	// bytes, NATS, Redis, in-process) ignore it for now; one could carry
	// what its text loses the same way (a NATS header's other values).
	NativeHeaders map[string]any

	// keyOnly: Key is a Message output's (messageKey): the message key
	// only. On a partitioned binding the partition-key-expression still
	// selects the partition, as SCSt's KafkaHeaders.KEY beside one does;
	// an Envelope's own Key selects it.
	keyOnly bool
}

// ContentType returns the message's contentType header, or def when absent.
func (e Envelope) ContentType(def string) string {
	if ct := e.Headers[HeaderContentType]; ct != "" {
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
	// on. On a partitioned binding the partition-key-expression still
	// selects the partition, as SCSt's KafkaHeaders.KEY beside one: a
	// function that returns its input Message is partitioned as
	// configured (an [Envelope]'s Key, given to the bridge, selects the
	// partition instead). A binding's message-key-expression wins over
	// it on Kafka. An output does not take its input's key by itself:
	// set Key: in.Key to keep it. In a composition a part gets the Key
	// of a Message the part before it returned, none after a plain
	// value.
	Key []byte
}

// NewMessage returns a Message with payload p and headers taken from kv
// pairs ("k1", "v1", "k2", "v2", ...); an odd trailing key is ignored.
func NewMessage[T any](p T, kv ...string) Message[T] {
	m := Message[T]{Payload: p}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Headers = m.Headers.With(kv[i], kv[i+1])
	}
	return m
}
