package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/streambind/streambind/stream"
)

// receivedHeaderNames are SCSt's received headers (Spring Kafka's
// KafkaHeaders, Spring AMQP's AmqpHeaders) that streambind carries as an
// input's key and [stream.Received] rather than as headers, so that an
// output does not inherit them.
var receivedHeaderNames = []string{
	stream.HeaderReceivedMessageKey,
	stream.HeaderReceivedTopic, stream.HeaderReceivedPartition, stream.HeaderReceivedOffset, stream.HeaderReceivedTimestamp,
	stream.HeaderReceivedExchange, stream.HeaderReceivedRoutingKey, stream.HeaderConsumerQueue, stream.HeaderRedelivered,
}

// receivedKeyInOutputExpressions warns of an output binding's
// partition-key-expression or (Kafka) message-key-expression that names
// one of SCSt's received headers (kafka_receivedMessageKey,
// kafka_receivedTopic, amqp_receivedRoutingKey, ...), a common SCSt
// configuration: in SCSt a plain payload's output carries its input's
// headers, the received ones among them; here the received key is the
// input's key (Message.Key) and the rest its Message.Received, not
// headers, and an output's expression finds null: the partition key
// expression fails every message, the message key expression sends
// without a key. One warning a key, at the binding's key or at the default
// producer's.
func receivedKeyInOutputExpressions(s *checkedService) stream.ConfigErrors {
	type finding struct {
		bindings []string
		names    []string
	}
	found := map[string]*finding{} // key -> bindings and the names the expression reads
	note := func(k, binding, expr string) {
		var names []string
		for _, n := range receivedHeaderNames {
			if strings.Contains(expr, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return
		}
		f := found[k]
		if f == nil {
			f = &finding{names: names}
			found[k] = f
		}
		f.bindings = append(f.bindings, binding)
	}
	for _, b := range s.bindings {
		if b.input {
			continue
		}
		note(s.ownOrDefault("stream.bindings."+b.name+".producer.partition-key-expression", "stream.default.producer.partition-key-expression"),
			b.name, b.producer.PartitionKeyExpression)
		if e, _ := b.ext["message-key-expression"].(string); b.binderType == "kafka" {
			note(s.ownOrDefault("stream.kafka.bindings."+b.name+".producer.message-key-expression", "stream.kafka.default.producer.message-key-expression"),
				b.name, e)
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out stream.ConfigErrors
	for _, k := range keys {
		f := found[k]
		what := bindingsNamed(f.bindings)
		effect := "every message fails to send (the key is null)"
		if strings.HasSuffix(k, "message-key-expression") {
			effect = "messages are sent without a key"
		}
		var msg string
		if f.names[0] == stream.HeaderReceivedMessageKey {
			msg = fmt.Sprintf("%s: headers['%s'] is null in an output's expression: streambind carries the key an input arrived with as the input's key (stream.Message's Key), not as a header that the output inherits as in SCSt, so %s; return a stream.Message with Key: in.Key (the record key; the partition stays the expression's), or put what to partition by in the payload or a header",
				what, stream.HeaderReceivedMessageKey, effect)
		} else {
			msg = fmt.Sprintf("%s: headers['%s'] is null in an output's expression: streambind carries how an input was received (topic, partition, offset, timestamp; RabbitMQ's exchange, routing key, queue, redelivered) as the input's stream.Message Received, not as headers that the output inherits as in SCSt, so %s; return a stream.Message with a header set from in.Received, or put what to partition by in the payload",
				what, f.names[0], effect)
		}
		out = append(out, &stream.ConfigError{Path: k, Origin: s.origin(k), Msg: msg})
	}
	return out
}

// ownOrDefault is key when the service sets it, else def when the service
// sets that (the binding took it from there), else key.
func (s *checkedService) ownOrDefault(key, def string) string {
	if _, own := s.exactOrigin(key); !own {
		if _, ok := s.exactOrigin(def); ok {
			return def
		}
	}
	return key
}
