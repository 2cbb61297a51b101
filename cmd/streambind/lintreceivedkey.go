package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/streambind/streambind/stream"
)

// receivedKeyInOutputExpressions warns of an output binding's
// partition-key-expression or (Kafka) message-key-expression that names
// kafka_receivedMessageKey, a common SCSt configuration: in SCSt a plain
// payload's output carries its input's headers, the received key among
// them; here the received key is the input's key (Message.Key), not a
// header, and an output's expression finds null: the partition key
// expression fails every message, the message key expression sends
// without a key. One warning a key, at the binding's key or at the default
// producer's.
func receivedKeyInOutputExpressions(s *checkedService) stream.ConfigErrors {
	found := map[string][]string{} // key -> bindings
	for _, b := range s.bindings {
		if b.input {
			continue
		}
		if strings.Contains(b.producer.PartitionKeyExpression, stream.HeaderReceivedMessageKey) {
			k := s.ownOrDefault("stream.bindings."+b.name+".producer.partition-key-expression", "stream.default.producer.partition-key-expression")
			found[k] = append(found[k], b.name)
		}
		if e, _ := b.ext["message-key-expression"].(string); strings.Contains(e, stream.HeaderReceivedMessageKey) && b.binderType == "kafka" {
			k := s.ownOrDefault("stream.kafka.bindings."+b.name+".producer.message-key-expression", "stream.kafka.default.producer.message-key-expression")
			found[k] = append(found[k], b.name)
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out stream.ConfigErrors
	for _, k := range keys {
		what := bindingsNamed(found[k])
		effect := "every message fails to send (the key is null)"
		if strings.HasSuffix(k, "message-key-expression") {
			effect = "messages are sent without a key"
		}
		out = append(out, &stream.ConfigError{Path: k, Origin: s.origin(k), Msg: fmt.Sprintf(
			"%s: headers['%s'] is null in an output's expression: streambind carries the key an input arrived with as the input's key (stream.Message's Key), not as a header that the output inherits as in SCSt, so %s; return a stream.Message with Key: in.Key (the record key; the partition stays the expression's), or put what to partition by in the payload or a header",
			what, stream.HeaderReceivedMessageKey, effect)})
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
