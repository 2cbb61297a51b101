package main

import (
	"strings"
	"testing"
)

// streambind config prints a nested binder key that a variable sets
// without its dashes (..._BINDER_TLS_SERVERNAME, ..._CONSUMER_QUORUM_DELIVERYLIMIT)
// in the spelling the binder documents (tls: server-name:, quorum:
// delivery-limit:), as it does a top-level one (min-partition-count),
// with its variable as origin and its value typed as the app reads it:
// whether the files have the section (tls, quorum: the loader puts the
// key in it, as servername) or not (the loader makes one flat key,
// tls-servername, which the binder reads as tls.server-name). It printed
// tls-servername:, servername:, quorum-initialgroupsize:. lint --strict
// takes them all, as the binder does.
func TestConfigEnvSquashedNestedBinderKey(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": "spring.cloud.function.definition: handleOrder\n" +
		"spring.cloud.stream.bindings.handleOrder-in-0: { destination: orders, group: g, binder: rabbit }\n" +
		"spring.cloud.stream.bindings.handleOrder-out-0: { destination: audit, binder: kafka }\n" +
		"spring.cloud.stream.kafka.binder.brokers: localhost:9092\n" +
		"spring.cloud.stream.kafka.binder.tls.enabled: true\n" +
		"spring.cloud.stream.rabbit.bindings.handleOrder-in-0.consumer.quorum.enabled: true\n"})
	env := []string{
		// The files have tls and quorum here.
		"SPRING_CLOUD_STREAM_KAFKA_BINDER_TLS_SERVERNAME=kafka.example",
		"SPRING_CLOUD_STREAM_RABBIT_BINDINGS_HANDLEORDERIN0_CONSUMER_QUORUM_DELIVERYLIMIT=5",
		// Not here.
		"STREAM_RABBIT_BINDER_TLS_INSECURESKIPVERIFY=true",
		"STREAM_RABBIT_BINDER_TLS_SERVERNAME=rabbit.example",
		"STREAM_RABBIT_DEFAULT_CONSUMER_QUORUM_INITIALGROUPSIZE=3",
		"STREAM_KAFKA_DEFAULT_PRODUCER_TOPIC_REPLICATIONFACTOR=2",
	}
	m, r := configEntries(t, dir, env, "svc")
	if r.code != exitOK {
		t.Fatalf("config: exit %d, stderr %s", r.code, r.stderr)
	}
	for key, want := range map[string]configEntry{
		"stream.kafka.binder.tls.server-name":                                    {Value: "kafka.example", Origin: "env SPRING_CLOUD_STREAM_KAFKA_BINDER_TLS_SERVERNAME"},
		"stream.rabbit.bindings.handleOrder-in-0.consumer.quorum.delivery-limit": {Value: float64(5), Origin: "env SPRING_CLOUD_STREAM_RABBIT_BINDINGS_HANDLEORDERIN0_CONSUMER_QUORUM_DELIVERYLIMIT"},
		"stream.rabbit.binder.tls.insecure-skip-verify":                          {Value: true, Origin: "env STREAM_RABBIT_BINDER_TLS_INSECURESKIPVERIFY"},
		"stream.rabbit.binder.tls.server-name":                                   {Value: "rabbit.example", Origin: "env STREAM_RABBIT_BINDER_TLS_SERVERNAME"},
		"stream.rabbit.default.consumer.quorum.initial-group-size":               {Value: float64(3), Origin: "env STREAM_RABBIT_DEFAULT_CONSUMER_QUORUM_INITIALGROUPSIZE"},
		"stream.kafka.default.producer.topic.replication-factor":                 {Value: float64(2), Origin: "env STREAM_KAFKA_DEFAULT_PRODUCER_TOPIC_REPLICATIONFACTOR"},
	} {
		if e, ok := m[key]; !ok || e.Value != want.Value || e.Origin != want.Origin {
			t.Errorf("%s = %#v (%s), present %v; want %#v (%s)", key, e.Value, e.Origin, ok, want.Value, want.Origin)
		}
	}
	for key := range m {
		if k := strings.ToLower(key); strings.Contains(k, "tls-") || strings.Contains(k, "servername") || strings.Contains(k, "quorum-") ||
			strings.Contains(k, "deliverylimit") || strings.Contains(k, "topic-") || strings.Contains(k, "skipverify") {
			t.Errorf("printed %s", key)
		}
	}
	if r := runIn(t, dir, env, "lint", "--strict", "svc"); r.code != exitOK || r.stdout != "" {
		t.Errorf("lint --strict: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
