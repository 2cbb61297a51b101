package config

import (
	"strconv"
	"strings"
	"testing"
)

// TestIgnoredKafkaClientKeys: the Java Kafka client properties an SCSt
// file commonly carries that the binder has no use for (back-offs,
// metadata age, idle connections, DNS, buffer memory, auto-creation by
// consumers, delivery timeout, static membership, the assignor, and
// enable.idempotence: true, the Java default since Kafka 3.0) start, each
// with a warning at its file:line saying why nothing changes, in the
// binder's maps and a binding's (nested spelling too); they are taken out
// of the maps. Other properties stay for the binder, enable.idempotence:
// false (what the binder does) without a word. Before, each stopped
// start-up ("not supported").
func TestIgnoredKafkaClientKeys(t *testing.T) {
	y := `spring:
  cloud:
    stream:
      kafka:
        binder:
          configuration:
            retry.backoff.ms: 500
            reconnect.backoff.ms: 100
            metadata.max.age.ms: 60000
            connections.max.idle.ms: 300000
            client.dns.lookup: use_all_dns_ips
            fetch.min.bytes: 1
          consumer-properties:
            allow.auto.create.topics: false
            group.instance.id: pod-1
            partition.assignment.strategy: org.apache.kafka.clients.consumer.CooperativeStickyAssignor
          producer-properties:
            buffer.memory: 33554432
            delivery.timeout.ms: 120000
            enable.idempotence: true
        bindings:
          out-0:
            producer:
              configuration:
                enable:
                  idempotence: false
                retry:
                  backoff:
                    ms: 200
`
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{}})
	why := map[string]string{
		"retry.backoff.ms":              "kafka-go retries failed requests on its own schedule",
		"reconnect.backoff.ms":          "dials a broker again",
		"metadata.max.age.ms":           "refreshes its metadata every 2s",
		"connections.max.idle.ms":       "idle for 30s",
		"client.dns.lookup":             "tries every address",
		"allow.auto.create.topics":      "auto-create-topics",
		"group.instance.id":             "static group membership is not supported",
		"partition.assignment.strategy": "range and round-robin",
		"buffer.memory":                 "no producer buffer pool",
		"delivery.timeout.ms":           "no delivery timeout",
		"enable.idempotence":            "a write retried after a lost answer can store a record twice",
	}
	want := map[string]int{ // path → line
		"stream.kafka.binder.configuration.retry.backoff.ms":                    7,
		"stream.kafka.binder.configuration.reconnect.backoff.ms":                8,
		"stream.kafka.binder.configuration.metadata.max.age.ms":                 9,
		"stream.kafka.binder.configuration.connections.max.idle.ms":             10,
		"stream.kafka.binder.configuration.client.dns.lookup":                   11,
		"stream.kafka.binder.consumer-properties.allow.auto.create.topics":      14,
		"stream.kafka.binder.consumer-properties.group.instance.id":             15,
		"stream.kafka.binder.consumer-properties.partition.assignment.strategy": 16,
		"stream.kafka.binder.producer-properties.buffer.memory":                 18,
		"stream.kafka.binder.producer-properties.delivery.timeout.ms":           19,
		"stream.kafka.binder.producer-properties.enable.idempotence":            20,
		"stream.kafka.bindings.out-0.producer.configuration.retry.backoff.ms":   29,
	}
	got := map[string]bool{}
	for _, w := range l.Warnings {
		line, ok := want[w.Path]
		if !ok {
			if strings.Contains(w.Path, "idempotence") || strings.Contains(w.Path, "fetch") {
				t.Errorf("unexpected warning %s: %s", w.Path, w.Msg)
			}
			continue
		}
		got[w.Path] = true
		name := w.Path[strings.Index(w.Path, "configuration.")+len("configuration."):]
		if i := strings.Index(w.Path, "-properties."); i >= 0 {
			name = w.Path[i+len("-properties."):]
		}
		if o := "application.yaml:" + strconv.Itoa(line); w.Origin != o {
			t.Errorf("%s: origin %s, want %s", w.Path, w.Origin, o)
		}
		if !strings.HasPrefix(w.Msg, "ignored: "+name+" is a Java Kafka client property the binder accepts without honouring it: ") || !strings.Contains(w.Msg, why[name]) {
			t.Errorf("%s: %q does not say why (%q)", w.Path, w.Msg, why[name])
		}
	}
	for p := range want {
		if !got[p] {
			t.Errorf("no warning for %s (warnings: %v)", p, l.Warnings)
		}
	}
	k := l.Stream.Extensions["kafka"]
	if conf, _ := k.Binder["configuration"].(map[string]any); len(conf) != 1 || conf["fetch.min.bytes"] == nil {
		t.Errorf("binder configuration = %v, want fetch.min.bytes alone left for the binder", conf)
	}
	pc, _ := k.Bindings["out-0"].Producer["configuration"].(map[string]any)
	if e, _ := pc["enable"].(map[string]any); e["idempotence"] != false {
		t.Errorf("out-0 configuration = %v, want enable.idempotence: false left for the binder", pc)
	}
}
