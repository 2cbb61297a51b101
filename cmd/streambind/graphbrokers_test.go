package main

import (
	"strings"
	"testing"
)

// TestGraphJoinsByBroker: graph draws one destination node per broker: the
// compatibility run's g3, a mirror reading orders on kafka1 (clusterA) and
// writing orders on kafka2 (clusterB), was drawn as one node orders
// (kafka) with a loop.
func TestGraphJoinsByBroker(t *testing.T) {
	app := func(b string) string {
		return `spring:
  cloud:
    function:
      definition: mirror
    stream:
      bindings:
        mirror-in-0:
          destination: orders
          group: mirror
          binder: kafka1
        mirror-out-0:
          destination: orders
          binder: kafka2
      binders:
        kafka1:
          type: kafka
          environment:
            spring.cloud.stream.kafka.binder.brokers: clusterA:9092
        kafka2:
          type: kafka
          default-candidate: false
          environment:
            spring.cloud.stream.kafka.binder.brokers: ` + b + `
`
	}
	r := runIn(t, writeFiles(t, map[string]string{"application.yml": app("clusterB:9092")}), nil, "graph", ".")
	if r.code != 0 || !strings.Contains(r.stdout, `dest_kafka_orders_clustera_9092 -->|"mirror-in-0`) ||
		!strings.Contains(r.stdout, `"mirror-out-0<br/>binder kafka2"| dest_kafka_orders_clusterb_9092`) {
		t.Errorf("two clusters: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, writeFiles(t, map[string]string{"application.yml": app("clusterA:9092")}), nil, "graph", ".")
	if r.code != 0 || !strings.Contains(r.stdout, `dest_kafka_orders[("orders<br/>kafka")]`) || strings.Contains(r.stdout, "broker") {
		t.Errorf("one cluster by two binder names: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
