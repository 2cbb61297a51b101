package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
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

// TestTailGroupCommitsKafka: what tail --group G prints on Kafka it
// commits for G, so a later tail of G (or the service) goes on after it
// and does not read it again. A binding with manual acknowledgment
// (SCSt's ack-mode MANUAL) is refused, by tail as by the service: the
// binder has none, so no ack mode leaves tail's offsets uncommitted.
func TestTailGroupCommitsKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-%d", time.Now().UnixNano())
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(kafkaService, topic)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	createTopic(t, c.Brokers(), topic, 2)
	send := func(payloads ...string) {
		t.Helper()
		// One key: one partition, in the order sent.
		if r := runIn(t, dir, env, append([]string{"send", "--binding", "work-in-0", "--key", "k"}, payloads...)...); r.code != exitOK {
			t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
		}
	}
	send(`{"id":"a"}`, `{"id":"b"}`)
	tail := func(n string) []string {
		t.Helper()
		tr := startTail(t, dir, env, "--binding", "work-in-0", "--group", "g", "--from-beginning", "--count", n, "--timeout", "30s")
		code, got := tr.wait(t)
		if code != exitOK {
			t.Fatalf("tail: exit status %d, stderr %q", code, tr.errText())
		}
		return payloads(got)
	}
	assertLines(t, tail("2"), []string{`{"id":"a"}`, `{"id":"b"}`})
	// The second tail of g starts after what the first printed: c, not a.
	send(`{"id":"c"}`)
	assertLines(t, tail("1"), []string{`{"id":"c"}`})

	manual := strings.Replace(fmt.Sprintf(kafkaService, topic), "  kafka:\n    binder:\n",
		"  kafka:\n    bindings:\n      work-in-0:\n        consumer:\n          ack-mode: MANUAL\n    binder:\n", 1)
	mdir := writeFiles(t, map[string]string{"application.yaml": manual})
	r := runIn(t, mdir, env, "tail", "--binding", "work-in-0", "--group", "g", "--count", "1", "--timeout", "30s")
	if r.code != exitFailure || !strings.Contains(r.stderr, "stream.kafka.bindings.work-in-0.consumer.ack-mode (application.yaml:14): MANUAL is not supported: streambind has no manual acknowledgment") || r.stdout != "" {
		t.Errorf("tail of a binding with ack-mode MANUAL: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
