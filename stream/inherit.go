package stream

import "strings"

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
}

// notInheritedPrefixes are the prefixes (lower case) of header names an
// output never takes from its input: dead-letter headers (x-exception-*,
// x-original-*), streambind's own per-delivery headers (retry counts and
// due times, replay count, truncation), RabbitMQ's dead-lettering
// (x-first-death-*, x-last-death-*), Spring's received headers (kafka_*,
// amqp_*), JetStream's (Nats-*) and SCSt's (scst_*).
var notInheritedPrefixes = []string{"x-exception-", "x-original-", "x-streambind-",
	"x-first-death-", "x-last-death-", "kafka_", "amqp_", "nats-", "scst_"}

// inherited reports whether an output takes header k from its input.
func inherited(k string) bool {
	l := strings.ToLower(k)
	if notInherited[l] {
		return false
	}
	for _, p := range notInheritedPrefixes {
		if strings.HasPrefix(l, p) {
			return false
		}
	}
	return true
}

// inheritHeaders returns the headers of in that a function's output
// carries; nil when there are none. in is not modified.
func inheritHeaders(in Headers) Headers {
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

// headerCarrier is a Message[T] (or *Message[T]) output: its headers are
// the function's own.
type headerCarrier interface{ messageHeaders() Headers }

func (m Message[T]) messageHeaders() Headers { return m.Headers }
