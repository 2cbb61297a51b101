package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
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
	var out stream.ConfigErrors
	for _, k := range slices.Sorted(maps.Keys(found)) {
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

// amqpReceivedHeaderNames are Spring AMQP's received headers, which only
// the RabbitMQ binder tells (stream.Received's exchange, routing key,
// queue, redelivered flag).
var amqpReceivedHeaderNames = []string{
	stream.HeaderReceivedExchange, stream.HeaderReceivedRoutingKey, stream.HeaderConsumerQueue, stream.HeaderRedelivered,
}

// amqpHeadersOffRabbit warns of an input binding's expression — the
// routing-expression (functionRouter's input) or an idempotency
// key-expression — that reads one of Spring AMQP's received headers
// (amqp_receivedRoutingKey, amqp_receivedExchange, amqp_consumerQueue,
// amqp_redelivered) on a binding whose binder is not RabbitMQ: there the
// header is always null (a message of another broker has no exchange,
// routing key or queue), so a routing expression always takes the same
// branch, an idempotency key never has that part. Over an output the
// received headers are null on every binder, which
// receivedKeyInOutputExpressions says. Not when the configuration does
// not show the binder (lint assumes the in-process one; the app's code
// registers it). One warning a key, at the binding's key or at the
// default consumer's.
func amqpHeadersOffRabbit(s *checkedService) stream.ConfigErrors {
	type finding struct {
		bindings []string
		types    map[string]bool
		name     string
	}
	found := map[string]*finding{}
	note := func(k string, b *binding, expr string) {
		name := ""
		for _, n := range amqpReceivedHeaderNames {
			if strings.Contains(expr, n) {
				name = n
				break
			}
		}
		if name == "" {
			return
		}
		f := found[k]
		if f == nil {
			f = &finding{name: name, types: map[string]bool{}}
			found[k] = f
		}
		f.bindings = append(f.bindings, b.name)
		f.types[b.binderType] = true
	}
	routing := ""
	if s.loaded != nil && s.loaded.Stream != nil {
		routing = s.loaded.Stream.Function.RoutingExpression
	}
	for _, b := range s.bindings {
		if !b.input || b.binderType == rabbit.Type || (s.assumedBinder == memory.Type && b.binderType == memory.Type) {
			continue
		}
		if b.function == stream.RouterFunctionName {
			note("stream.function.routing-expression", b, routing)
		}
		note(s.ownOrDefault("stream.bindings."+b.name+".consumer.idempotency.key-expression", "stream.default.consumer.idempotency.key-expression"),
			b, b.consumer.Idempotency.KeyExpression)
	}
	var out stream.ConfigErrors
	for _, k := range slices.Sorted(maps.Keys(found)) {
		f := found[k]
		msg := fmt.Sprintf("%s (binder type %s): headers['%s'] is always null there: the amqp_* received headers (Spring AMQP's amqp_receivedExchange, amqp_receivedRoutingKey, amqp_consumerQueue, amqp_redelivered) are RabbitMQ's, which only the RabbitMQ binder sets; the kafka_* received headers (kafka_receivedTopic, kafka_receivedPartitionId, kafka_offset, kafka_receivedTimestamp) are read on every binder",
			bindingsNamed(f.bindings), strings.Join(slices.Sorted(maps.Keys(f.types)), ", "), f.name)
		out = append(out, &stream.ConfigError{Path: k, Origin: s.origin(k), Msg: msg})
	}
	return out
}
