package main

import (
	"fmt"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestTailGroupInstanceIndexListRabbit: tail --binding B --group G of a
// partitioned binding with instance-index-list [0, 2] of 3 reads what B's
// consumers read, one consumer per index: the queues work.g-0 and
// work.g-2 (bound with work-0 and work-2), not work.g-1 (it declares no
// queue for index 1), and with B's dlq each index's queue has its DLQ
// binding (work.g.dlq bound to DLX with work.g-0 and work.g-2), as B's
// service declares them. The line on stderr says so: "as instances 0,2
// of 3" (it named the group only).
func TestTailGroupInstanceIndexListRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	svc := `stream:
  function:
    definition: work
  output-bindings: in
` + rabbitBinder + `
  bindings:
    in:
      destination: work
      producer:
        partition-key-expression: headers['customer']
        partition-count: 3
    work-in-0:
      destination: work
      group: g
      consumer:
        dlq: true
        partitioned: true
        instance-count: 3
        instance-index-list: 0,2
`
	dir := writeFiles(t, map[string]string{"application.yaml": svc})
	env := []string{"VHOST=" + vhost}
	tail := startTail(t, dir, env, "--binding", "work-in-0", "--group", "g", "--count", "2", "--timeout", "30s")
	if err := tail.errText(); !strings.Contains(err, "tailing work on binder rabbit, group g, as instances 0,2 of 3\n") {
		t.Errorf("tail's stderr %q; want it to say it reads as instances 0,2 of 3", err)
	}
	// Customers whose keys go to partitions 0 and 2 (SCSt's selection,
	// hashCode mod 3): "c" 99, "b" 98.
	for _, c := range []string{"c", "b"} {
		if r := runIn(t, dir, env, "send", "--binding", "in", "--header", "customer="+c, fmt.Sprintf(`{"customer":%q}`, c)); r.code != exitOK {
			t.Fatalf("send %s: exit status %d, stderr %q", c, r.code, r.stderr)
		}
	}
	code, got := tail.wait(t)
	if code != exitOK {
		t.Fatalf("tail: exit status %d, stderr %q", code, tail.errText())
	}
	assertLines(t, payloads(got), []string{`{"customer":"b"}`, `{"customer":"c"}`})

	// What it declared: the queues of indexes 0 and 2, not 1, and the DLQ
	// bound with the dead-letter routing key of each (its queue's name).
	for q, want := range map[string]int{"work.g-0": 0, "work.g-1": -1, "work.g-2": 0, "work.g.dlq": 0} {
		if n := queueDepth(t, vhost, q)(); n != want {
			t.Errorf("queue %s: %d messages (-1: none), want %d", q, n, want)
		}
	}
	ch := rabbittest.Channel(t, vhost)
	for _, key := range []string{"work.g-0", "work.g-2"} {
		if err := ch.Publish("DLX", key, false, false, amqp.Publishing{Body: []byte(key)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "2 messages in work.g.dlq, routed from DLX by work.g-0 and work.g-2", func() bool { return queueDepth(t, vhost, "work.g.dlq")() == 2 })
}
