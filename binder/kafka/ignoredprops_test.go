package kafka_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestKafkaPropertiesIgnored: the Java client properties the binder
// accepts without honouring them (props.IgnoredKafkaClientProperty; the
// configuration loader takes them out of a file's maps with a warning)
// are accepted from a configuration built otherwise too, in the binder's
// maps and a binding's, enable.idempotence: true included (the Java
// default since Kafka 3.0); a value enable.idempotence cannot have is
// still an error. Before, each was refused ("not supported").
func TestKafkaPropertiesIgnored(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{
			"configuration": map[string]any{"retry.backoff.ms": 500, "reconnect.backoff.max.ms": 1000,
				"metadata.max.age.ms": 60000, "connections.max.idle.ms": 300000, "client.dns.lookup": "use_all_dns_ips"},
			"consumer-properties": map[string]any{"allow.auto.create.topics": false, "group.instance.id": "pod-1",
				"partition.assignment.strategy": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"},
			"producer-properties": map[string]any{"buffer.memory": 33554432, "delivery.timeout.ms": 120000, "enable.idempotence": true},
		}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	v := b.(stream.SpecValidator)
	if err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Destination: "t", Extension: map[string]any{
		"configuration": map[string]any{"enable": map[string]any{"idempotence": "true"}, "retry.backoff.ms": 100}}}); err != nil {
		t.Errorf("producer: %v", err)
	}
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Destination: "t", Extension: map[string]any{
		"configuration": map[string]any{"group.instance.id": "pod-1", "metadata.max.age.ms": 1000}}}); err != nil {
		t.Errorf("consumer: %v", err)
	}
	err = v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Destination: "t", Extension: map[string]any{
		"configuration": map[string]any{"enable.idempotence": "maybe"}}})
	wantErrs(t, err, map[string]string{"stream.kafka.bindings.out-0.producer.configuration.enable.idempotence": "maybe"})
}
