package config

import (
	"reflect"
	"strings"
	"testing"
)

// Spring Boot's spring.kafka keys that stand for Kafka client properties
// the binder honours become those properties in the binder's maps, with
// the origin of the Boot key; Spring Kafka features the binder does not
// use are warnings naming the key, its line and the reason.
func TestSpringKafkaNamespace(t *testing.T) {
	const yaml = `spring:
  kafka:
    bootstrap-servers: k1:9092,k2:9092
    client-id: orders
    properties:
      security.protocol: SSL
      session.timeout.ms: 45000
      max:
        poll:
          records: 9
    consumer:
      group-id: ignored-group
      max-poll-records: 200
      fetch-min-size: 1KB
      fetch-max-wait: 500ms
      auto-offset-reset: earliest
      isolation-level: read_committed
      properties:
        max.poll.records: 7
        heartbeat.interval.ms: 3000
        spring.json.trusted.packages: "*"
    producer:
      acks: all
      batch-size: 32KB
      compression-type: lz4
      retries: 3
    security:
      protocol: SSL
    ssl:
      trust-store-location: file:/etc/kafka/ca.pem
      trust-store-type: PEM
    listener:
      ack-mode: manual
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard})
	got := l.Stream.ConnectionDefaults["kafka"]
	want := map[string]any{
		"brokers":   "k1:9092,k2:9092",
		"client-id": "orders",
		"configuration": map[string]any{
			"security.protocol":       "SSL",
			"session.timeout.ms":      45000,
			"max.poll.records":        9,
			"ssl.truststore.location": "/etc/kafka/ca.pem",
			"ssl.truststore.type":     "PEM",
		},
		"consumer-properties": map[string]any{
			"max.poll.records":      200, // the typed key wins over properties
			"fetch.min.bytes":       int64(1024),
			"fetch.max.wait.ms":     "500ms",
			"auto.offset.reset":     "earliest",
			"isolation.level":       "read_committed",
			"heartbeat.interval.ms": 3000,
		},
		"producer-properties": map[string]any{
			"acks":             "all",
			"batch.size":       int64(32 << 10),
			"compression.type": "lz4",
			"retries":          3,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kafka connection defaults\n got %#v\nwant %#v", got, want)
	}
	for key, o := range map[string]string{
		"stream.kafka.binder.consumer-properties.max.poll.records": "application.yaml:13 (spring.kafka.consumer.max-poll-records)",
		"stream.kafka.binder.configuration.max.poll.records":       "application.yaml:10 (spring.kafka.properties.max.poll.records)",
		"stream.kafka.binder.brokers":                              "application.yaml:3 (spring.kafka.bootstrap-servers)",
	} {
		if l.Stream.Origins[key] != o {
			t.Errorf("origin of %s = %q, want %q", key, l.Stream.Origins[key], o)
		}
	}
	var warned []string
	for _, w := range l.Warnings {
		warned = append(warned, w.Error())
	}
	wantWarn := []string{
		"spring.kafka.consumer.group-id (application.yaml:12): ignored: the consumer group is the binding's group (stream.bindings.<b>.group), as in SCSt",
		"spring.kafka.consumer.properties.spring.json.trusted.packages (application.yaml:21): ignored: a setting of Spring Kafka's serializers and deserializers",
		"spring.kafka.listener.ack-mode (application.yaml:33): ignored: Spring Kafka's listener containers are not used",
	}
	for _, w := range wantWarn {
		if !strings.Contains(strings.Join(warned, "\n"), w) {
			t.Errorf("warnings lack %q:\n%s", w, strings.Join(warned, "\n"))
		}
	}
	if len(warned) != 3 {
		t.Errorf("%d warnings, want 3:\n%s", len(warned), strings.Join(warned, "\n"))
	}
}

// What spring.kafka sets and the binder cannot honour is refused at the
// key, with its line and the reason.
func TestSpringKafkaNamespaceRefusals(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"transactions", "spring:\n  kafka:\n    producer:\n      transaction-id-prefix: tx-\n",
			"spring.kafka.producer.transaction-id-prefix (application.yaml:4): not supported: exactly-once transactions are not supported"},
		{"unknown producer key", "spring:\n  kafka:\n    producer:\n      buffer-memory: 32MB\n",
			"spring.kafka.producer.buffer-memory (application.yaml:4): not supported: the Kafka binder reads acks, batch-size"},
		{"per-client connection", "spring:\n  kafka:\n    consumer:\n      bootstrap-servers: x:9092\n",
			"spring.kafka.consumer.bootstrap-servers (application.yaml:4): not supported: a connection setting of the consumer only"},
		{"bad size", "spring:\n  kafka:\n    consumer:\n      fetch-min-size: lots\n",
			`spring.kafka.consumer.fetch-min-size (application.yaml:4): want a size such as 16384, 16KB or 1MB, got "lots"`},
		{"classpath store", "spring:\n  kafka:\n    ssl:\n      trust-store-location: classpath:ca.pem\n",
			`spring.kafka.ssl.trust-store-location (application.yaml:4): "classpath:ca.pem": a classpath: resource cannot be read by a Go service; give a file path`},
		{"misspelt ssl key", "spring:\n  kafka:\n    ssl:\n      trust-store-locaton: /etc/ca.pem\n",
			"spring.kafka.ssl.trust-store-locaton (application.yaml:4): unknown key; did you mean trust-store-location? (the Kafka binder reads PEM files"},
		{"misspelt unsupported ssl key", "spring:\n  kafka:\n    ssl:\n      trust-store-certificate: abc\n",
			"spring.kafka.ssl.trust-store-certificate (application.yaml:4): not supported: the Kafka binder reads PEM files"},
		{"inline PEM", "spring:\n  kafka:\n    ssl:\n      key-store-key: abc\n",
			"spring.kafka.ssl.key-store-key (application.yaml:4): not supported: the Kafka binder reads PEM files"},
		{"jaas", "spring:\n  kafka:\n    jaas:\n      login-module: org.apache.kafka.common.security.plain.PlainLoginModule\n",
			"spring.kafka.jaas.login-module (application.yaml:4): not supported: give the JAAS configuration as the Kafka client property spring.kafka.properties.sasl.jaas.config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := configErrors(t, Options{Data: []byte(tc.yaml)})
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errors %v\nwant one containing %s", errs, tc.want)
			}
		})
	}
}

func TestDataSize(t *testing.T) {
	for in, want := range map[any]int64{"16384": 16384, 16384: 16384, "16KB": 16 << 10, "1MB": 1 << 20, "2 GB": 2 << 30, "10B": 10} {
		if got, err := dataSize(in); err != nil || got != want {
			t.Errorf("dataSize(%v) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []any{"", "1XB", "-1", "1.5MB", "99999999999TB"} {
		if _, err := dataSize(in); err == nil {
			t.Errorf("dataSize(%v): no error", in)
		}
	}
}

// A Kafka binder's environment in SCSt's form may use Boot's typed
// spring.kafka keys too: they become the properties maps the binder
// reads there.
func TestSpringKafkaInBinderEnvironment(t *testing.T) {
	const yaml = `stream:
  binders:
    k1:
      type: kafka
      environment:
        spring.cloud.stream.kafka.binder.brokers: a:1
        spring.kafka.producer.acks: all
        spring:
          kafka:
            client-id: svc
            consumer:
              max-poll-records: 5
              group-id: x
            ssl:
              trust-store-location: file:/ca.pem
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard})
	got := l.Stream.Binders["k1"].Environment
	want := map[string]any{
		"spring.cloud.stream.kafka.binder.brokers": "a:1",
		"spring": map[string]any{"kafka": map[string]any{
			"client-id":  "svc",
			"properties": map[string]any{"ssl.truststore.location": "/ca.pem"},
			"consumer":   map[string]any{"properties": map[string]any{"max.poll.records": 5}},
			"producer":   map[string]any{"properties": map[string]any{"acks": "all"}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment\n got %#v\nwant %#v", got, want)
	}
	if o := l.Stream.Origins["stream.binders.k1.environment.spring.kafka.consumer.properties.max.poll.records"]; o != "application.yaml:12 (spring.kafka.consumer.max-poll-records)" {
		t.Errorf("origin %q", o)
	}
	if o := l.Stream.Origins["stream.binders.k1.environment.spring.kafka.producer.properties.acks"]; o != "application.yaml:7 (spring.kafka.producer.acks)" {
		t.Errorf("origin %q", o)
	}
	if len(l.Warnings) != 1 || l.Warnings[0].Error() != "stream.binders.k1.environment.spring.kafka.consumer.group-id (application.yaml:13): ignored: the consumer group is the binding's group (stream.bindings.<b>.group), as in SCSt" {
		t.Errorf("warnings %v", l.Warnings)
	}
}
