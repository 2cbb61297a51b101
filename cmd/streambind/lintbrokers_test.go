package main

import (
	"strings"
	"testing"
)

// TestLintJoinsByBroker: lint joins producers and consumers of a
// destination by binder type and broker (the binder's addresses, on
// RabbitMQ with its virtual host), not by binder type alone. The
// compatibility run's g2: a producer with partition-count 4 on binder
// rabbitA (hostA) and a partitioned consumer of that destination on
// rabbitB (hostB) got "partitions 1..3 reach no instance", exit 1 — from
// lint and from graph. Two binder names with the same connection settings
// are one broker: the problem stays; so it does across services that name
// the same broker.
func TestLintJoinsByBroker(t *testing.T) {
	app := func(hostB string) string {
		return `spring:
  cloud:
    function:
      definition: gen;listen
    stream:
      bindings:
        gen-out-0:
          destination: data
          binder: rabbitA
          producer:
            partition-key-expression: payload.id
            partition-count: 4
        listen-in-0:
          destination: data
          group: g
          binder: rabbitB
          consumer:
            partitioned: true
      binders:
        rabbitA:
          type: rabbit
          environment:
            spring.rabbitmq.host: hostA
        rabbitB:
          type: rabbit
          default-candidate: false
          environment:
            spring.rabbitmq.host: ` + hostB + `
`
	}
	const problem = "partitions 1..3 reach no instance"
	for _, cmd := range []string{"lint", "graph"} {
		dir := writeFiles(t, map[string]string{"application.yml": app("hostB")})
		r := runIn(t, dir, nil, cmd, ".")
		if r.code != 0 || strings.Contains(r.stdout+r.stderr, problem) {
			t.Errorf("%s, two brokers: exit %d, stdout:\n%s\nstderr:\n%s", cmd, r.code, r.stdout, r.stderr)
		}
		dir = writeFiles(t, map[string]string{"application.yml": app("hostA")})
		r = runIn(t, dir, nil, cmd, ".")
		if r.code != exitFailure || !strings.Contains(r.stdout+r.stderr, problem) {
			t.Errorf("%s, one broker by two binder names: exit %d, stdout:\n%s\nstderr:\n%s", cmd, r.code, r.stdout, r.stderr)
		}
	}

	// Across services: Kafka producer and consumer on the same brokers
	// meet, on other brokers they do not.
	producer := `spring:
  cloud:
    stream:
      kafka:
        binder:
          brokers: clusterA:9092
      bindings:
        gen-out-0:
          destination: data
          producer:
            partition-key-expression: payload.id
            partition-count: 2
`
	consumer := func(brokers string) string {
		return `spring:
  cloud:
    stream:
      kafka:
        binder:
          brokers: ` + brokers + `
      bindings:
        listen-in-0:
          destination: data
          group: g
          consumer:
            partitioned: true
            instance-count: 3
`
	}
	const kafkaProblem = "so 1 of the 3 instances receive nothing"
	dir := writeFiles(t, map[string]string{"p/application.yml": producer, "c/application.yml": consumer("clusterB:9092")})
	if r := runIn(t, dir, nil, "lint", "p", "c"); r.code != 0 || strings.Contains(r.stdout, kafkaProblem) {
		t.Errorf("lint, two clusters: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	dir = writeFiles(t, map[string]string{"p/application.yml": producer, "c/application.yml": consumer("CLUSTERA:9092")})
	if r := runIn(t, dir, nil, "lint", "p", "c"); r.code != exitFailure || !strings.Contains(r.stdout, kafkaProblem) {
		t.Errorf("lint, one cluster: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
