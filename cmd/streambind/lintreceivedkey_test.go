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
	r := runIn(t, dir, nil, "lint", "port")
	if r.code != exitOK {
		t.Errorf("exit status %d, want 0 (warnings); output:\n%s", r.code, strings.Join(r.lines(), "\n"))
	}
	out := strings.Join(r.lines(), "\n")
	for _, want := range []string{
		"port/application.yaml:18: stream.bindings.reserve-out-0.producer.partition-key-expression: warning: binding reserve-out-0: headers['kafka_receivedMessageKey'] is null in an output's expression",
		"so every message fails to send (the key is null)",
		"port/application.yaml:31: stream.kafka.bindings.audit-out-0.producer.message-key-expression: warning: binding audit-out-0: headers['kafka_receivedMessageKey'] is null in an output's expression",
		"so messages are sent without a key",
		"port/application.yaml:25: stream.bindings.trace-out-0.producer.partition-key-expression: warning: binding trace-out-0: headers['kafka_receivedTopic'] is null in an output's expression",
		"as the input's stream.Message Received",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lint port: no %q in:\n%s", want, out)
		}
	}
	r = runIn(t, dir, nil, "lint", "ok")
	if out := strings.Join(r.lines(), "\n"); strings.Contains(out, "kafka_receivedMessageKey") || strings.Contains(out, "kafka_receivedTopic") {
		t.Errorf("lint ok: a routing expression over the received key warned of:\n%s", strings.Join(r.lines(), "\n"))
	}
}
