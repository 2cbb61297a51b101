package stream

import (
	"bytes"
	"strings"
)

// Output headers (CONVENTIONS: "Headers of a function's output"): as in
// Spring Cloud Function, the output of a function that returns a payload
// (not a Message) carries the headers of the input message, less those
// that describe the input's delivery or that the framework and the
// binders set per message. A function that returns a Message sets its
// output's headers itself.

// notInherited are the header names (lower case) an output never takes
// from its input: the message's identity and time, its content type (the
// output binding's applies), its partition, the trace context (the send
// span injects the output's own), and the routing headers of the input's
// functionRouter.
var notInherited = map[string]bool{
	"id":                       true,
	"timestamp":                true,
	"contenttype":              true,
	HeaderPartition:            true,
	"traceparent":              true,
	"tracestate":               true,
	"x-death":                  true,
	"x-delivery-count":         true,
	"deliveryattempt":          true,
	"x-redis-deliveries":       true,
	"spring_json_header_types": true,
	strings.ToLower(HeaderFunctionDefinition): true,
	strings.ToLower(HeaderRoutingExpression):  true,
	// Where the input was routed to (SCF does not copy it to outputs
	// either): inherited, it would route the output there again.
	strings.ToLower(HeaderSendToDestination): true,
}

// notInheritedPrefixes are the prefixes (lower case) of header names an
// output never takes from its input: dead-letter headers (x-exception-*,
// x-original-*), streambind's own per-delivery headers (retry counts and
// due times, replay count, truncation), RabbitMQ's dead-lettering
// (x-first-death-*, x-last-death-*), Spring's received headers (kafka_*,
// amqp_* but inheritedAMQP), JetStream's (Nats-*) and SCSt's (scst_*).
var notInheritedPrefixes = []string{"x-exception-", "x-original-", "x-streambind-",
	"x-first-death-", "x-last-death-", "kafka_", "amqp_", "nats-", "scst_"}

// inheritedAMQP are the amqp_* header names (lower case) an output does
// take from its input: the RabbitMQ properties (the RabbitMQ binder gives
// a delivery's as these headers) that Spring AMQP's outbound mapper sets
// from them, so that, as in SCSt, a function's output keeps its input's
// correlation_id, reply_to, type, app_id and expiration (priority's header
// is no amqp_* one). Not content_encoding: the output's body is the
// function's.
var inheritedAMQP = map[string]bool{
	"amqp_correlationid": true,
	"amqp_replyto":       true,
	"amqp_type":          true,
	"amqp_appid":         true,
	"amqp_expiration":    true,
}

// inherited reports whether an output takes header k from its input.
func inherited(k string) bool {
	switch k {
	case HeaderID, HeaderContentType: // on every message: no lower-casing and lookup
		return false
	}
	// Lower-cased on the stack (strings.ToLower allocates for a name with
	// an upper-case letter, such as contentType, on every delivery).
	var buf [64]byte
	if len(k) > len(buf) { // no name the rules list is this long

		return inheritedLower(strings.ToLower(k))
	}
	l := buf[:len(k)]
	for i := range len(k) {
		c := k[i]
		if c >= 0x80 { // Unicode case rules (the Kelvin sign lowers to k)
			return inheritedLower(strings.ToLower(k))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		l[i] = c
	}
	if notInherited[string(l)] { // no allocation for a map index
		return false
	}
	for _, p := range notInheritedPrefixes {
		if len(l) >= len(p) && string(l[:len(p)]) == p {
			return p == "amqp_" && inheritedAMQP[string(l)]
		}
	}
	return true
}

// inheritedLower is inherited for a lower-cased name.
func inheritedLower(l string) bool {
	if notInherited[l] {
		return false
	}
	for _, p := range notInheritedPrefixes {
		if strings.HasPrefix(l, p) {
			return p == "amqp_" && inheritedAMQP[l]
		}
	}
	return true
}

// inheritHeaders returns the headers of in that a function's output
// carries; nil when there are none. in is not modified.
func inheritHeaders(in Headers) Headers {
	if n := len(in); n <= 2 && n == hasHeader(in, HeaderID)+hasHeader(in, HeaderContentType) {
		return nil // the usual input's headers, neither inherited: no iteration
	}
	var out Headers
	for k, v := range in {
		if !inherited(k) {
			continue
		}
		if out == nil {
			out = make(Headers, len(in))
		}
		out[k] = v
	}
	return out
}

// hasHeader is 1 when h has header k, else 0.
func hasHeader(h Headers, k string) int {
	if _, ok := h[k]; ok {
		return 1
	}
	return 0
}

// headerCarrier is a Message[T] (or *Message[T]) output: its headers and
// its key are the function's own.
type headerCarrier interface {
	messageHeaders() Headers
	messageKey() []byte
	messageReceived() Received
}

func (m Message[T]) messageHeaders() Headers   { return m.Headers }
func (m Message[T]) messageKey() []byte        { return m.Key }
func (m Message[T]) messageReceived() Received { return m.Received }

// HeaderMessageKey is Spring Kafka's header for the key to send a message
// with (KafkaHeaders.KEY). A Message output that carries it and no Key is
// sent with it as its key, on every binder, and without the header.
const HeaderMessageKey = "kafka_messageKey"

// withMessageKey gives env (a Message output's) the message key k (the
// Message's Key), else its kafka_messageKey header, as the message key
// only (Envelope.keyOnly). The header is not sent on. copyKey: k is
// copied (the bridge's caller keeps its buffers).
func withMessageKey(env *Envelope, k []byte, copyKey bool) {
	if hk, ok := env.Headers[HeaderMessageKey]; ok {
		if len(k) == 0 {
			k, copyKey = []byte(hk), false
		}
		env.Headers = env.Headers.Clone() // the function's map stays as it was
		delete(env.Headers, HeaderMessageKey)
	}
	if len(k) == 0 {
		return
	}
	if copyKey {
		k = bytes.Clone(k)
	}
	env.Key, env.keyOnly = k, true
}

// keyOf is the key of an output value: a Message's Key, else none.
func keyOf(v any) []byte {
	if hc, ok := v.(headerCarrier); ok {
		return hc.messageKey()
	}
	return nil
}

// withoutInputID returns the headers of a function's Message output
// without an id equal to its input's: a function that passes its input's
// headers on (Message{Headers: m.Headers}) does not give its output the
// input's identity. SCSt regenerates a copied message's id; kept, every
// output of one input but the first would be deduplicated on NATS (the
// id is Nats-Msg-Id) and skipped by an idempotent consumer. The output
// gets a new id from its producer. An id the function set itself stays.
// So do the replay headers of a replayed copy's (HeaderReplayedID,
// HeaderReplayCount, HeaderReplayGroup) when equal to the input's: the output is no copy,
// and the idempotent consumer's default key reads the replayed id first
// (the outputs two functions made of one copy were one message to it).
// A batch's output is checked against each message of the batch.
func withoutInputID(out, in Headers) Headers {
	cloned := false
	for _, k := range [...]string{HeaderID, HeaderReplayedID, HeaderReplayCount, HeaderReplayGroup} {
		v, ok := out[k]
		if !ok || v == "" || v != in[k] {
			continue
		}
		if !cloned {
			out, cloned = out.Clone(), true
		}
		delete(out, k)
	}
	return out
}

// carriedNative returns the entries of native, an input's
// [Envelope.NativeHeaders] (the header values in the binder's own types:
// a Java producer's int, boolean or double AMQP header), for the headers
// hdr, its function's output's, has; nil when there are none (no
// allocation for an input without NativeHeaders). As SCSt passes the
// header objects through a function, a producer of the input's binder
// then sends such a header in its type while the output's text still
// reads as it (a downstream headers['priority'] > 3 or a partition key
// on it keeps working); one the function changed goes as its new text.
// Entries that name no header are not carried.
func carriedNative(native map[string]any, hdr Headers) map[string]any {
	if len(native) == 0 || len(hdr) == 0 {
		return nil
	}
	var out map[string]any
	for k, v := range native {
		if _, ok := hdr[k]; !ok {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(native))
		}
		out[k] = v
	}
	return out
}
