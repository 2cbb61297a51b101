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
// returns unroutable (--to-exchange an exchange no queue is bound to)
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
