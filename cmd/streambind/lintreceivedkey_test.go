package main

import (
	"strings"
	"testing"
)

// TestLintReceivedKeyInOutputExpression: an SCSt configuration that
// partitions (or keys, on Kafka) a function's output by
// headers['kafka_receivedMessageKey'] (or another received header,
// kafka_receivedTopic here) is a warning at the key and its line: the output's expression finds null here (the received key is the
// input's key, not an inherited header), so every message failed to send,
// or went without a key, with nothing said before. The same header over
// an input (a routing expression) reads the key: no warning.
func TestLintReceivedKeyInOutputExpression(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"port/application.yaml": `
spring:
  cloud:
    function:
      definition: reserve;audit;trace
    stream:
      default-binder: kafka
      binders:
        kafka:
          type: kafka
      bindings:
        reserve-in-0:
          destination: orders
          group: g
        reserve-out-0:
          destination: reservations
          producer:
            partition-key-expression: headers['kafka_receivedMessageKey']
            partition-count: 3
        audit-out-0:
          destination: audit
        trace-out-0:
          destination: traces
          producer:
            partition-key-expression: headers['kafka_receivedTopic']
            partition-count: 2
      kafka:
        bindings:
          audit-out-0:
            producer:
              message-key-expression: headers['kafka_receivedMessageKey']
`,
		"ok/application.yaml": `
stream:
  function:
    definition: functionRouter
    routing-expression: "headers['kafka_receivedMessageKey'] == 'a' or headers['kafka_receivedTopic'] == 'orders' ? 'x' : 'y'"
  bindings:
    functionRouter-in-0: { destination: orders, group: g }
`,
	})
	lintWarns(t, dir, "port",
		"port/application.yaml:18: spring.cloud.stream.bindings.reserve-out-0.producer.partition-key-expression: warning: binding reserve-out-0: headers['kafka_receivedMessageKey'] is null in an output's expression",
		"so every message fails to send (the key is null)",
		"port/application.yaml:31: spring.cloud.stream.kafka.bindings.audit-out-0.producer.message-key-expression: warning: binding audit-out-0: headers['kafka_receivedMessageKey'] is null in an output's expression",
		"so messages are sent without a key",
		"port/application.yaml:25: spring.cloud.stream.bindings.trace-out-0.producer.partition-key-expression: warning: binding trace-out-0: headers['kafka_receivedTopic'] is null in an output's expression",
		"as the input's stream.Message Received",
	)
	// A routing expression over the received key reads it: no warning.
	lintQuiet(t, dir, "ok", "kafka_receivedMessageKey", "kafka_receivedTopic")
}

// lintWarns runs lint on dir's subdirectory sub and wants exit status 0
// (warnings only) and each of wants in its output.
func lintWarns(t *testing.T, dir, sub string, wants ...string) {
	t.Helper()
	r := runIn(t, dir, nil, "lint", sub)
	out := strings.Join(r.lines(), "\n")
	if r.code != exitOK {
		t.Errorf("lint %s: exit status %d, want 0 (warnings); output:\n%s", sub, r.code, out)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("lint %s: no %q in:\n%s", sub, want, out)
		}
	}
}

// lintQuiet runs lint on dir's subdirectory sub and wants none of
// unwanted in its output.
func lintQuiet(t *testing.T, dir, sub string, unwanted ...string) {
	t.Helper()
	r := runIn(t, dir, nil, "lint", sub)
	out := strings.Join(r.lines(), "\n")
	for _, u := range unwanted {
		if strings.Contains(out, u) {
			t.Errorf("lint %s: warned of %q:\n%s", sub, u, out)
		}
	}
}
