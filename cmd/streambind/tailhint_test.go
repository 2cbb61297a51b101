package main

import (
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestTailGroupInequivalentLeadsWithBinding: tail --destination D --group
// G on a RabbitMQ queue a service's binding declared with its settings
// (dlq: x-dead-letter-*) is refused (inequivalent arg); the error leads
// with the fix the docs give, tail as that binding (--binding B, named
// when the configuration has a consumer binding of D in group G), and
// ends with deleting the queue, which loses its messages. It led with the
// binder's "align the binding's properties ... or delete it (with its
// messages)".
func TestTailGroupInequivalentLeadsWithBinding(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	withBinding := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    work-in-0:
      destination: nc1-shipments
      group: audit
      consumer:
        dlq: true
`})
	without := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    work-in-0:
      destination: other
`})
	env := []string{"VHOST=" + vhost}
	// The service's queue, as work-in-0 (dlq) declares it.
	ch := rabbittest.Channel(t, vhost)
	if _, err := ch.QueueDeclare("nc1-shipments.audit", true, false, false, false,
		amqp.Table{"x-dead-letter-exchange": "DLX", "x-dead-letter-routing-key": "nc1-shipments.audit"}); err != nil {
		t.Fatal(err)
	}
	const head = `streambind: queue "nc1-shipments.audit" of group audit exists with another x-dead-letter-exchange (inequivalent arg "x-dead-letter-exchange") than tail declares it with: a service's consumer binding declared it with its settings (dlq, ttl, quorum ...), which tail has only as that binding. `
	const tail = " (tail then declares the queue with that binding's settings). Only if no service uses the queue: delete it, with its messages, and tail --group audit declares it anew. RabbitMQ: Exception (406) Reason: \"PRECONDITION_FAILED - inequivalent arg 'x-dead-letter-exchange'"
	for _, tc := range []struct {
		dir, want string
	}{
		{withBinding, head + "tail as work-in-0, the consumer binding that reads nc1-shipments in group audit: streambind tail --binding work-in-0 --group audit" + tail},
		{without, head + "tail as the service's consumer binding that reads nc1-shipments in group audit, from the service's configuration (PATH or --config): streambind tail --binding <that binding> --group audit" + tail},
	} {
		r := runIn(t, tc.dir, env, "tail", "--destination", "nc1-shipments", "--group", "audit", "--count", "1")
		if r.code != exitFailure || !strings.HasPrefix(r.stderr, tc.want) {
			t.Errorf("exit status %d, stderr\n%s\nwant it to begin\n%s", r.code, r.stderr, tc.want)
		}
	}
}
