package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDLQReplayToQueueRabbit: on RabbitMQ a replay to the binding's
// destination goes to every group's queue bound to its exchange: replaying
// group g's dead letter gave group accounting, which had handled the
// message, a second copy (a new-user trial: an invoice booked twice).
// --to-queue sends the copies to the binding's group's queue only, through
// the default exchange (SCSt's documented re-route to the original
// queue); a queue that does not exist makes the copy unroutable: an error,
// the dead letter kept.
func TestDLQReplayToQueueRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	// The other group of destination work, as its consumer binds it.
	ch := rabbittest.Channel(t, vhost)
	if _, err := ch.QueueDeclare("work.accounting", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("work.accounting", "#", "work", false, nil); err != nil {
		t.Fatal(err)
	}
	dead := queueDepth(t, vhost, "work.g.dlq")
	own := queueDepth(t, vhost, "work.g")
	other := queueDepth(t, vhost, "work.accounting")
	a.send(t, "c-1", job{"1", "card declined"})
	eventually(t, "1 dead letter", func() bool { return dead() == 1 })
	// Stopped, so that the copy stays in work.g to be counted.
	a.stop()
	if n := other(); n != 1 {
		t.Fatalf("work.accounting has %d messages before the replay, want the original's 1", n)
	}

	dlq := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq", "replay", "--binding", "work-in-0"}, args...)...)
	}
	for _, args := range [][]string{
		{"--to-queue", "--to", "retry"},
		{"--to-queue=work.g", "--to-exchange", "work"},
		{"--to-queue="},
		{"--to-queue", "work.g"}, // work.g read as PATH
		// An empty --to or --to-exchange replayed to the binding's own
		// exchange (every group), exit 0; a name over 255 bytes dropped
		// the publisher's connection.
		{"--to", ""},
		{"--to="},
		{"--to-exchange", ""},
		{"--to-exchange="},
		{"--to", strings.Repeat("x", 256)},
		{"--to-exchange=" + strings.Repeat("x", 256)},
	} {
		if r := dlq(args...); r.code != exitUsage {
			t.Errorf("replay %v: exit %d, stdout %q, stderr %q; want usage (2)", args, r.code, r.stdout, r.stderr)
		}
	}
	// work.g is a queue, not an exchange: the error says --to-queue=work.g.
	if r := dlq("--to-exchange", "work.g"); r.code == exitOK || !strings.Contains(r.stderr, "--to-queue=work.g") {
		t.Errorf("replay --to-exchange work.g: exit %d, stdout %q, stderr %q; want the hint --to-queue=work.g", r.code, r.stdout, r.stderr)
	}
	if n := dead(); n != 1 {
		t.Fatalf("work.g.dlq has %d dead letters after the refused replays, want 1", n)
	}
	if r := dlq("--to-queue", "--dry-run"); r.code != exitOK || !strings.Contains(r.stdout, "would replay dead letter 1 to queue work.g: card declined\n") {
		t.Errorf("replay --to-queue --dry-run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// A queue that does not exist: unroutable, nothing declared, the dead
	// letter kept.
	r := dlq("--to-queue=work.nosuch")
	if r.code != exitFailure || !strings.Contains(r.stderr, "unroutable") || !strings.Contains(r.stderr, "no queue work.nosuch exists") {
		t.Errorf("replay --to-queue=work.nosuch: exit %d, stdout %q, stderr %q; want unroutable", r.code, r.stdout, r.stderr)
	}
	if n := dead(); n != 1 {
		t.Errorf("after the unroutable replay: %d dead letters, want 1 kept", n)
	}
	if n := queueDepth(t, vhost, "work.nosuch")(); n != -1 {
		t.Errorf("the replay declared work.nosuch (%d messages)", n)
	}

	r = dlq("--to-queue")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0") {
		t.Fatalf("replay --to-queue: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "every consumer group") {
		t.Errorf("replay --to-queue: stderr %q; the copies went to work.g only, nothing to note", r.stderr)
	}
	if n := own(); n != 1 {
		t.Errorf("after replay --to-queue, work.g has %d messages, want the copy", n)
	}
	if n := other(); n != 1 {
		t.Errorf("after replay --to-queue, work.accounting has %d messages, want only the original's 1 (the copy went to the other group)", n)
	}
	if n := dead(); n != 0 {
		t.Errorf("after replay --to-queue: %d dead letters, want 0", n)
	}
	d, ok, err := ch.Get("work.g", true)
	if err != nil || !ok || d.Headers[stream.HeaderReplayCount] == nil || !strings.Contains(string(d.Body), "card declined") {
		t.Errorf("the copy in work.g: ok %v, err %v, headers %v, body %q", ok, err, d.Headers, d.Body)
	}

	// A partitioned binding's group has a queue per partition: --to-queue
	// alone is refused, naming the way to replay one partition's.
	part := fmt.Sprintf(dlqService, rabbitBinder) + `  instance-count: 2
  instance-index: 0
`
	part = strings.Replace(part, "        max-attempts: 1\n", "        max-attempts: 1\n        partitioned: true\n", 1)
	pdir := writeFiles(t, map[string]string{"application.yaml": part})
	r = runWith(t, &runEnv{env: env, dir: pdir, stdin: strings.NewReader("")}, "dlq", "replay", "--binding", "work-in-0", "--to-queue")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--header scst_partition=N --to-queue=work.g-N") {
		t.Errorf("replay --to-queue of a partitioned binding: exit %d, stdout %q, stderr %q; want usage naming work.g-N", r.code, r.stdout, r.stderr)
	}
}

// On the other binders a group has no queue of its own: --to-queue is
// refused (usage).
func TestDLQReplayToQueueNotRabbit(t *testing.T) {
	t.Parallel()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: memory")})
	e := &runEnv{dir: dir, binders: map[string]stream.BinderFactory{memory.Type: memory.Factory(broker)}}
	r := runWith(t, e, "dlq", "replay", "--binding", "work-in-0", "--to-queue")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--to-queue is for RabbitMQ") {
		t.Errorf("replay --to-queue in process: exit %d, stdout %q, stderr %q; want usage", r.code, r.stdout, r.stderr)
	}
}

// The queue --to-queue names is the one the binding's consumer consumes:
// with the prefix, and <prefix><group> with queue-name-group-only.
func TestReplayQueueName(t *testing.T) {
	for _, c := range []struct {
		ext  map[string]any
		want string
	}{
		{nil, "work.g"},
		{map[string]any{"prefix": "dev."}, "dev.work.g"},
		{map[string]any{"prefix": "dev.", "queue-name-group-only": true}, "dev.g"},
	} {
		tg := &dlqTarget{src: "work-in-0", typ: rabbit.Type, spec: stream.ConsumerSpec{Binding: "work-in-0", Destination: "work", Group: "g", Extension: c.ext}}
		got, err := tg.replayQueue(ownQueue)
		if err != nil || got != c.want {
			t.Errorf("%v: %q, %v; want %q", c.ext, got, err, c.want)
		}
	}
}

// TestDLQReplayPartitionedRabbit: the dead letters of a partitioned
// binding's group on RabbitMQ (one queue per partition, work.g-0 and
// work.g-1, bound with work-0 and work-1, one DLQ work.g.dlq for them
// all) are replayed each to its partition's queue, by its scst_partition:
// the replay sent them with the destination alone as the routing key,
// which no queue is bound with (unroutable, the replay stopped; a
// new-user trial).
func TestDLQReplayPartitionedRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	svc := fmt.Sprintf(dlqService, rabbitBinder) + `  instance-count: 2
`
	svc = strings.Replace(svc, "      destination: work\n    work-in-0:", `      destination: work
      producer:
        partition-key-expression: headers['customer']
        partition-count: 2
    work-in-0:`, 1)
	svc = strings.Replace(svc, "        max-attempts: 1\n", "        max-attempts: 1\n        partitioned: true\n        instance-index-list: 0,1\n", 1)
	dir := writeFiles(t, map[string]string{"application.yaml": svc})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	dead := queueDepth(t, vhost, "work.g.dlq")
	q0, q1 := queueDepth(t, vhost, "work.g-0"), queueDepth(t, vhost, "work.g-1")
	// Customers whose keys go to partitions 0 and 1 (SCSt's selection:
	// hashCode mod 2): "a" 97, "b" 98.
	a.send(t, "a", job{"1", "card declined"})
	a.send(t, "b", job{"2", "card declined"})
	eventually(t, "2 dead letters", func() bool { return dead() == 2 })
	// Stopped, so that the copies stay in their queues to be counted.
	a.stop()

	r := runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, "dlq", "replay", "--binding", "work-in-0")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 2 dead letters of work-in-0") {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n0, n1, nd := q0(), q1(), dead(); n0 != 1 || n1 != 1 || nd != 0 {
		t.Errorf("after the replay: work.g-0 %d, work.g-1 %d, work.g.dlq %d messages; want 1, 1, 0", n0, n1, nd)
	}
}
