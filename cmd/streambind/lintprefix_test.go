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
		{"scst", []string{`scst/application.yaml:14: stream.rabbit.default.producer.prefix: warning: stream.rabbit.default.consumer.prefix is not set but stream.rabbit.default.producer.prefix is "prod.": ` +
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
