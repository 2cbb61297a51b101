package main

import "testing"

// TestLintAMQPHeadersOffRabbit: an input's expression (the
// routing-expression, an idempotency key-expression) that reads one of
// Spring AMQP's received headers (amqp_receivedRoutingKey, ...) on a
// binding whose binder is not RabbitMQ is a warning at the key and its
// line: the header is always null there (the routing always took one
// branch, with nothing said). On RabbitMQ, and for the kafka_* received
// headers, which every binder sets, no warning.
func TestLintAMQPHeadersOffRabbit(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kafka/application.yaml": `
spring:
  cloud:
    function:
      definition: functionRouter;audit
      routing-expression: "headers['amqp_receivedRoutingKey'] == 'paid' ? 'paid' : 'created'"
    stream:
      default-binder: kafka
      binders:
        kafka:
          type: kafka
      bindings:
        functionRouter-in-0:
          destination: orders
          group: g
        audit-in-0:
          destination: audit
          group: g
          consumer:
            idempotency:
              store: memory
              key-expression: "headers['amqp_consumerQueue'] + headers['id']"
`,
		"rabbit/application.yaml": `
spring:
  cloud:
    function:
      definition: functionRouter;audit
      routing-expression: "headers['amqp_receivedRoutingKey'] == 'paid' ? 'paid' : 'created'"
    stream:
      default-binder: rabbit
      binders:
        rabbit:
          type: rabbit
      bindings:
        functionRouter-in-0:
          destination: orders
          group: g
        audit-in-0:
          destination: audit
          group: g
          consumer:
            idempotency:
              store: memory
              key-expression: "headers['amqp_redelivered'] + headers['id']"
`,
		"kafkaok/application.yaml": `
stream:
  default-binder: kafka
  binders:
    kafka: { type: kafka }
  function:
    definition: functionRouter
    routing-expression: "headers['kafka_receivedTopic'] == 'orders' ? 'a' : 'b'"
  bindings:
    functionRouter-in-0: { destination: orders, group: g }
`,
	})
	lintWarns(t, dir, "kafka",
		"kafka/application.yaml:6: spring.cloud.function.routing-expression: warning: binding functionRouter-in-0 (binder type kafka): headers['amqp_receivedRoutingKey'] is always null there: the amqp_* received headers",
		"kafka/application.yaml:22: spring.cloud.stream.bindings.audit-in-0.consumer.idempotency.key-expression: warning: binding audit-in-0 (binder type kafka): headers['amqp_consumerQueue'] is always null there",
		"which only the RabbitMQ binder sets",
	)
	lintQuiet(t, dir, "rabbit", "is always null there")
	lintQuiet(t, dir, "kafkaok", "is always null there")
}
