package main

import (
	"fmt"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestTailJoinsServiceGroupRabbit: tail --binding B --group G joins the
// group queue the service declared, with B's consumer settings (dlq's
// x-dead-letter-*, a ttl of stream.rabbit.bindings): it declared the
// queue with none of them, and RabbitMQ refused it (inequivalent arg
// x-dead-letter-exchange), so tail could not join a service's group
// unless the queue was deleted, with its messages. What tail prints it
// acknowledges: it is gone from the group's queue.
func TestTailJoinsServiceGroupRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder) + `
  rabbit:
    bindings:
      work-in-0:
        consumer:
          ttl: 600000
          dead-letter-routing-key: work.g.failed
`})
	env := []string{"VHOST=" + vhost}
	// The service declares its queue work.g (and DLX, DLQ), then stops;
	// the queue stays, as a deployed service's does.
	startDLQApp(t, dir, env).stop()
	ch := rabbittest.Channel(t, vhost)
	if _, err := ch.QueueDeclarePassive("work.g", true, false, false, false, nil); err != nil {
		t.Fatalf("the service's queue: %v", err)
	}

	tail := startTail(t, dir, env, "--binding", "work-in-0", "--group", "g", "--count", "1", "--timeout", "30s")
	if r := runIn(t, dir, env, "send", "--destination", "work", `{"id":"j-1"}`); r.code != exitOK {
		t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
	}
	code, got := tail.wait(t)
	if code != exitOK {
		t.Fatalf("tail: exit status %d, stderr %q", code, tail.errText())
	}
	assertLines(t, payloads(got), []string{`{"id":"j-1"}`})
	// tail acknowledged it: the service's queue no longer holds it.
	ch = rabbittest.Channel(t, vhost)
	q, err := ch.QueueDeclarePassive("work.g", true, false, false, false, nil)
	if err != nil {
		t.Fatalf("the service's queue after tail: %v", err)
	}
	if q.Messages != 0 {
		t.Errorf("work.g holds %d messages after tail took the one sent; want 0 (tail acknowledges)", q.Messages)
	}
}
