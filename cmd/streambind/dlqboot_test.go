package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// dlq connects where the app does: the Spring Boot connection namespaces
// (spring.rabbitmq.*, spring.kafka.*) are read for it as for the app, send
// and tail. A dead-letter queue that is not there is an error naming it.
func TestDLQSpringBootConnectionRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	yaml := fmt.Sprintf(dlqService, "  default-binder: rabbit") + `spring:
  rabbitmq:
    host: 127.0.0.1
    virtual-host: ${VHOST}
`
	dir := writeFiles(t, map[string]string{"application.yaml": yaml,
		"other/application.yaml": strings.Replace(yaml, "group: g", "group: never", 1)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	a.send(t, "c-1", job{"1", "card declined"}, job{"2", "card declined"})
	eventually(t, "2 dead letters", func() bool { return depth() == 2 })

	run := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq"}, args...)...)
	}
	if r := run("ls", "--binding", "work-in-0"); r.code != exitOK || !strings.HasPrefix(r.stdout, "2 dead letters of work-in-0 in work.g.dlq") {
		t.Errorf("ls: exit %d, stdout %q, stderr %q; want the 2 of vhost %s", r.code, r.stdout, r.stderr, vhost)
	}
	if r := run("show", "1", "--binding", "work-in-0"); r.code != exitOK || !strings.Contains(r.stdout, `"id": "1"`) {
		t.Errorf("show: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run("purge", "--binding", "work-in-0", "--yes"); r.code != exitOK || !strings.Contains(r.stdout, "purged 2 dead letters") || depth() != 0 {
		t.Errorf("purge: exit %d, stdout %q, stderr %q, depth %d", r.code, r.stdout, r.stderr, depth())
	}
	if r := run("ls", "--config", "other", "--binding", "work-in-0"); r.code != exitFailure ||
		!strings.Contains(r.stderr, "work.never.dlq") || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("ls of a DLQ that is not there: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestDLQSpringBootConnectionKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	yaml := fmt.Sprintf(dlqService, `  default-binder: kafka
  kafka:
    binder:
      auto-create-topics: true`) + `spring:
  kafka:
    bootstrap-servers: ${KAFKA_BROKERS}
`
	dir := writeFiles(t, map[string]string{"application.yaml": yaml})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	run := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq"}, args...)...)
	}
	// Nothing dead-lettered yet: the topic is not there, and ls says so.
	if r := run("ls", "--binding", "work-in-0"); r.code != exitFailure || !strings.Contains(r.stderr, "error.work.g") || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("ls before any dead letter: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	a.send(t, "c-1", job{"1", "card declined"}, job{"2", "no stock"})
	eventually(t, "2 dead letters", func() bool { return lsDepth(t, dir, env)() == 2 })
	if r := run("show", "2", "--binding", "work-in-0"); r.code != exitOK || !strings.Contains(r.stdout, `"id": "2"`) {
		t.Errorf("show: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
