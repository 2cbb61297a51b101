package main

import (
	"strings"
	"testing"
)

// TestLintPrefixMismatch: a service whose RabbitMQ default consumer and
// producer prefixes differ (only default.consumer.prefix set, or two
// different ones) is a warning naming both keys and the two
// exchanges: its consumers read
// <consumer prefix><destination>, its producers (and send --destination)
// send to <producer prefix><destination>. lint said nothing; the
// configuration runs (SCSt does the same), so exit status 0. The same
// prefix on both sides, none, or a binding's own prefix is no warning.
func TestLintPrefixMismatch(t *testing.T) {
	const head = `
stream:
  function:
    definition: relay
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    relay-in-0: { destination: orders, group: g }
    relay-out-0: { destination: shipped }
  rabbit:
`
	scst := `
spring:
  cloud:
    function:
      definition: relay
    stream:
      default-binder: rabbit
      bindings:
        relay-in-0: { destination: orders, group: g }
        relay-out-0: { destination: shipped }
      rabbit:
        default:
          producer:
            prefix: prod.
`
	dir := writeFiles(t, map[string]string{
		"consumeronly/application.yaml": head + `    default:
      consumer:
        prefix: dev.
`,
		"both/application.yaml": head + `    default:
      consumer:
        prefix: dev.
      producer:
        prefix: test.
`,
		"same/application.yaml": head + `    default:
      consumer:
        prefix: dev.
      producer:
        prefix: dev.
`,
		"own/application.yaml": head + `    bindings:
      relay-in-0:
        consumer:
          prefix: legacy.
`,
		"scst/application.yaml": scst,
	})
	const tail = ", which those consumers do not read (SCSt applies the two prefixes separately too); give both the same prefix"
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"consumeronly", []string{`consumeronly/application.yaml:15: stream.rabbit.default.consumer.prefix: warning: stream.rabbit.default.consumer.prefix is "dev." but stream.rabbit.default.producer.prefix is not set: ` +
			"this service's consumers read exchange dev.orders while its producers (and streambind send --destination orders) send to exchange orders" + tail}},
		{"both", []string{`both/application.yaml:15: stream.rabbit.default.consumer.prefix: warning: stream.rabbit.default.consumer.prefix is "dev." but stream.rabbit.default.producer.prefix is "test.": ` +
			"this service's consumers read exchange dev.orders while its producers (and streambind send --destination orders) send to exchange test.orders" + tail}},
		{"scst", []string{`scst/application.yaml:14: spring.cloud.stream.rabbit.default.producer.prefix: warning: stream.rabbit.default.consumer.prefix is not set but stream.rabbit.default.producer.prefix is "prod.": ` +
			"this service's consumers read exchange orders while its producers (and streambind send --destination orders) send to exchange prod.orders" + tail}},
		{"same", nil},
		{"own", nil},
	} {
		r := runIn(t, dir, nil, "lint", tc.dir)
		if r.code != exitOK {
			t.Errorf("%s: exit status %d, want 0 (a warning); output:\n%s", tc.dir, r.code, strings.Join(r.lines(), "\n"))
		}
		assertLines(t, r.lines(), tc.want)
	}
}

// TestLintReaderDLQArgs: a RabbitMQ dead-letter reader with dlq declares
// the DLQ it reads with x-dead-letter-exchange <prefix>DLX and
// x-dead-letter-routing-key the queue's name; unless the source declares
// its DLQ so (dlq-dead-letter-exchange, dlq-dead-letter-routing-key), one
// of them fails at start. lint said nothing; it warns at the reader's
// dlq, naming the settings to give the source, and not once they are set.
func TestLintReaderDLQArgs(t *testing.T) {
	const svc = `
stream:
  function:
    definition: work;audit
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    work-in-0: { destination: work, group: g, consumer: { dlq: true } }
    audit-in-0: { consumer: { dead-letters-of: work-in-0, dlq: true } }
  rabbit:
    default:
      consumer: { prefix: dev. }
      producer: { prefix: dev. }
`
	dir := writeFiles(t, map[string]string{
		"clash/application.yaml": svc,
		"set/application.yaml": svc + `    bindings:
      work-in-0:
        consumer:
          dlq-dead-letter-exchange: dev.DLX
          dlq-dead-letter-routing-key: dev.work.g.dlq
`,
		"nodlq/application.yaml": strings.Replace(svc, "dead-letters-of: work-in-0, dlq: true", "dead-letters-of: work-in-0", 1),
	})
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"clash", []string{"clash/application.yaml:11: stream.bindings.audit-in-0.consumer.dlq: warning: binding audit-in-0 reads the dead letters of work-in-0 and has dlq: " +
			"it declares their queue dev.work.g.dlq with x-dead-letter-exchange dev.DLX and x-dead-letter-routing-key dev.work.g.dlq, and work-in-0 declares that queue with its dlq-dead-letter-exchange and dlq-dead-letter-routing-key: " +
			"unless they are the same, whichever binds second fails at start (PRECONDITION_FAILED); set stream.rabbit.bindings.work-in-0.consumer.dlq-dead-letter-exchange: dev.DLX and dlq-dead-letter-routing-key: dev.work.g.dlq"}},
		{"set", nil},
		{"nodlq", nil},
	} {
		r := runIn(t, dir, nil, "lint", tc.dir)
		if r.code != exitOK {
			t.Errorf("%s: exit status %d, want 0 (a warning); output:\n%s", tc.dir, r.code, strings.Join(r.lines(), "\n"))
		}
		assertLines(t, r.lines(), tc.want)
	}
}
