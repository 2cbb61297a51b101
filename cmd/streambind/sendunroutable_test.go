package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestSendUnroutableSaysWhatToDo: a send to a RabbitMQ exchange no queue
// is bound to is returned unroutable, and the error says what to do:
// start a consumer with a group first, or required-groups on the output
// binding. It only said "unroutable message returned by the broker (no
// queue bound for its routing key)". A replay to such an exchange says so
// too.
func TestSendUnroutableSaysWhatToDo(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    emit-out-0:
      destination: lonely
    work-in-0:
      destination: jobs
      group: workers
`})
	env := []string{"VHOST=" + vhost}
	const unroutable = "unroutable message returned by the broker (no queue bound for its routing key); nothing keeps a message sent while no queue is bound: "
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--binding", "emit-out-0", `{}`}, unroutable + startConsumerFirst + ", or set stream.bindings.emit-out-0.producer.required-groups to that group"},
		{[]string{"send", "--destination", "nowhere", `{}`}, unroutable + startConsumerFirst + ", or send through an output binding of the destination whose producer.required-groups names the group"},
		// work-in-0's queue was never declared (its service never ran).
		{[]string{"send", "--binding", "work-in-0", `{}`}, unroutable + "start the service of work-in-0 first (its consumer declares and binds its group's queue, which keeps what arrives while it is stopped), or send through an output binding whose producer.required-groups is workers"},
	} {
		r := runIn(t, dir, env, tc.args...)
		if r.code != exitFailure || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "sent 0 messages") {
			t.Errorf("%v: exit status %d, stderr %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestDLQReplayUnroutableSaysWhatToDo: a replay whose copies RabbitMQ
// returns unroutable (--to-exchange an existing exchange no queue is bound to)
// says what to do, and the dead letter stays.
func TestDLQReplayUnroutableSaysWhatToDo(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	a.send(t, "c-1", job{"1", "boom"})
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	// The exchange exists (a replay creates none: a missing one is
	// TestDLQReplayToMissingExchangeCreatesNothing's), no queue bound.
	if err := rabbittest.Channel(t, vhost).ExchangeDeclare("lonely-x", "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "replay", "--binding", "work-in-0", "--to-exchange", "lonely-x")
	if r.code != exitFailure || !strings.Contains(r.stderr, "unroutable message returned by the broker") ||
		!strings.HasSuffix(r.stderr, "; nothing keeps a message sent while no queue is bound: "+replayUnroutableRemedy+"\n") {
		t.Errorf("replay: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := depth(); n != 1 {
		t.Errorf("after replay: %d dead letters, want 1", n)
	}
}

// TestSendUnroutableAnonymousBinding: send --binding B of an input binding
// without a group, to an exchange no queue is bound to, says that B has
// no group and how to give it one (stream.bindings.B.group). It said to
// start B's service first, whose consumer "declares and binds its group's
// queue" (an anonymous consumer's queue is deleted when it stops, keeping
// nothing sent meanwhile), and to send through an output binding whose
// required-groups "is GROUP", a placeholder naming no group.
func TestSendUnroutableAnonymousBinding(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    work-in-0:
      destination: news
`})
	env := []string{"VHOST=" + vhost}
	r := runIn(t, dir, env, "send", "--binding", "work-in-0", `{}`)
	const want = "unroutable message returned by the broker (no queue bound for its routing key); nothing keeps a message sent while no queue is bound: " +
		"work-in-0 has no group, so its service's consumer reads an anonymous queue, deleted when it stops (it takes only what is sent while it runs); " +
		"to keep what is sent meanwhile, give work-in-0 a group (stream.bindings.work-in-0.group) and start its service first (its consumer declares and binds the group's queue), " +
		"or send through an output binding whose producer.required-groups names that group (streambind send --binding NAME), which declares and binds the queue before the first message\n"
	if r.code != exitFailure || !strings.HasSuffix(r.stderr, want) || strings.Contains(r.stderr, "GROUP") {
		t.Errorf("exit status %d, stderr %q; want it to end %q", r.code, r.stderr, want)
	}
}

// TestSendUnroutablePartition: a send through a partitioned output
// binding to a partition no queue is bound for says which partition has
// no queue and what to do for a partitioned destination (the consumers
// of every partition, or required-groups, which declares every
// partition's queue). It ended with the generic remedy, whose last hint
// was about the queue settings (auto-bind-dlq ...) a producer's
// required-groups must share with the consumers, saying nothing of
// partitions. An unpartitioned output binding keeps that remedy; a send
// through a partitioned input binding (routed with the destination's
// key, which none of its group's queues is bound with) says so.
func TestSendUnroutablePartition(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    emit-out-0:
      destination: jobs
      producer:
        partition-count: 2
        partition-key-expression: headers['k']
    work-in-0:
      destination: shards
      group: workers
      consumer:
        partitioned: true
        instance-count: 2
        instance-index: 0
`})
	plain := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    emit-out-0:
      destination: lonely
`})
	env := []string{"VHOST=" + vhost}
	const unroutable = "unroutable message returned by the broker (no queue bound for its routing key)"
	for _, tc := range []struct {
		dir        string
		args       []string
		want       []string
		notWant    string
		wantSuffix string
	}{
		{args: []string{"send", "--binding", "emit-out-0", "--key", "a", `{}`},
			want: []string{`with routing key "jobs-1": ` + unroutable + `; partition 1 of "jobs" has no queue bound with "jobs-1": no consumer group's queue of that partition (jobs.<group>-1) exists`,
				"; nothing keeps a message sent while no queue is bound: start the group's consumers of every partition first (instance-index 0 to 1 of instance-count 2, or instance-index-lists covering them: each declares and binds the queues of its partitions), " +
					"or set stream.bindings.emit-out-0.producer.required-groups to the consumers' group: send (as the service's producer) then declares and binds every partition's queue before the first message, with the queue settings of the group's consumer binding, as in SCSt\n"},
			notWant: "auto-bind-dlq"},
		// The case the queue settings hint was written for.
		{dir: plain, args: []string{"send", "--binding", "emit-out-0", `{}`},
			want:       []string{unroutable + "; nothing keeps a message sent while no queue is bound: " + startConsumerFirst + ", or set stream.bindings.emit-out-0.producer.required-groups to that group"},
			notWant:    "partition",
			wantSuffix: "give it those of the group's consumer binding (auto-bind-dlq: true for one with dlq, and its ttl, max-length, quorum, dead-letter-* ...), or that consumer's service fails to start (inequivalent arg)\n"},
		{args: []string{"send", "--binding", "work-in-0", `{}`},
			want: []string{unroutable + "; nothing keeps a message sent while no queue is bound: work-in-0 is partitioned: its group's queues (one per partition) are bound with shards-<partition> only, so a message sent with no partition reaches none of them, whichever consumers run; " +
				"send through the partitioned output binding that feeds group workers (streambind send --binding NAME --key K), which routes each message to its partition\n"},
			notWant: "start the service of work-in-0 first"},
	} {
		if tc.dir == "" {
			tc.dir = dir
		}
		r := runIn(t, tc.dir, env, tc.args...)
		ok := r.code == exitFailure && !strings.Contains(r.stderr, tc.notWant) && strings.HasSuffix(r.stderr, tc.wantSuffix)
		for _, w := range tc.want {
			ok = ok && strings.Contains(r.stderr, w)
		}
		if !ok {
			t.Errorf("%v: exit status %d, stderr %q; want it to contain %q, end %q, and not say %q", tc.args, r.code, r.stderr, tc.want, tc.wantSuffix, tc.notWant)
		}
	}
}
