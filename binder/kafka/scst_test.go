package kafka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// scstApp loads an application.yaml and builds (does not run) an app with
// the Kafka binder: the loader and the binder check every key.
func scstApp(t *testing.T, yaml string) error {
	t.Helper()
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		return err
	}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "enrich", func(_ context.Context, in map[string]any) (map[string]any, error) { return in, nil })
	_, err = stream.NewApp(l.Stream, fns, stream.WithBinderType(kafka.Type, kafka.New))
	return err
}

// TestSCStKafkaYAMLUnchanged: a Spring Cloud Stream application.yaml using
// the Kafka binder's client property maps, as SCSt users write them, loads
// and is accepted as it is; the same file with properties kafka-go cannot
// honour fails, naming each key.
func TestSCStKafkaYAMLUnchanged(t *testing.T) {
	const yaml = `spring:
  cloud:
    function:
      definition: enrich
    stream:
      bindings:
        enrich-in-0: { destination: orders, group: enricher }
        enrich-out-0: { destination: enriched }
      kafka:
        binder:
          brokers: kafka-1,kafka-2:9093
          defaultBrokerPort: 9092
          minPartitionCount: 3
          replicationFactor: 1
          autoAddPartitions: true
          autoCreateTopics: true
          requiredAcks: all
          configuration:
            security.protocol: SASL_SSL
            sasl.mechanism: SCRAM-SHA-512
            sasl.jaas.config: org.apache.kafka.common.security.scram.ScramLoginModule required username="orders" password="${KAFKA_PASSWORD:changeit}";
            ssl.endpoint.identification.algorithm: https
            client.id: enricher
            request.timeout.ms: 30000
          consumer-properties:
            max.poll.records: 200
            session.timeout.ms: 45000
            key.deserializer: org.apache.kafka.common.serialization.ByteArrayDeserializer
          producerProperties:
            linger.ms: 5
            compression.type: lz4
            enable.idempotence: false
        bindings:
          enrich-in-0:
            consumer:
              enableDlq: true
              dlqName: orders-dlq
              dlqPartitions: 1
              dlqProducerProperties:
                configuration:
                  acks: all
              startOffset: earliest
              configuration:
                fetch.min.bytes: 1024
                fetch.max.wait.ms: 100
                isolation.level: read_committed
          enrich-out-0:
            producer:
              bufferSize: 32768
              compressionType: gzip
              topic:
                replication-factor: 1
              configuration:
                max.request.size: 2097152
                retries: 5
`
	if err := scstApp(t, yaml); err != nil {
		t.Fatalf("an SCSt configuration: %v", err)
	}

	bad := strings.NewReplacer(
		"client.id: enricher", "client.id: enricher\n            schema.registry.url: http://registry:8081",
		"          requiredAcks: all", "          requiredAcks: all\n          transaction:\n            transaction-id-prefix: tx-",
	).Replace(yaml)
	// One problem per key, each at its file:line.
	wantIn(t, scstApp(t, bad),
		"stream.kafka.binder.configuration.schema.registry.url (application.yaml:26): not supported",
		"stream.kafka.binder.transaction.transaction-id-prefix (application.yaml:19): exactly-once transactions are not supported")
	// The bindings' maps are checked once the binder is fine.
	bad = strings.NewReplacer(
		"retries: 5", "transactional.id: tx-1",
		"isolation.level: read_committed", "value.deserializer: io.confluent.kafka.serializers.KafkaAvroDeserializer",
	).Replace(yaml)
	wantIn(t, scstApp(t, bad),
		"stream.kafka.bindings.enrich-out-0.producer.configuration.transactional.id (application.yaml:55): not supported: exactly-once transactions",
		"stream.kafka.bindings.enrich-in-0.consumer.configuration.value.deserializer (application.yaml:46)",
		"KafkaAvroDeserializer\" is not supported")
}

// wantIn checks that err's text holds every want, and no password.
func wantIn(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %s:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "changeit") {
		t.Errorf("the error shows the password:\n%v", err)
	}
}
