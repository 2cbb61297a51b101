package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestDLQReplayRabbitPrefix: with SCSt's prefix (here per environment,
// under stream.rabbit.default), the binding's queue is bound to the
// exchange <prefix><destination>. dlq replay bound its producer to the
// bare destination, so it declared and sent to another exchange, where
// nothing is bound: the replay failed unroutable (on a broker shared by
// environments, it could reach another one's queues). The copy goes to
// dev.work, and the bare work exchange is never declared.
func TestDLQReplayRabbitPrefix(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	yaml := fmt.Sprintf(dlqService, rabbitBinder) + `  rabbit:
    default:
      consumer:
        prefix: dev.
      producer:
        prefix: dev.
`
	dir := writeFiles(t, map[string]string{"application.yaml": yaml})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "dev.work.g.dlq")
	a.send(t, "c-1", job{"1", "card declined"})
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	dlq := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq"}, args...)...)
	}
	if r := dlq("ls", "--binding", "work-in-0"); r.code != exitOK || !strings.Contains(r.stdout, "1 dead letter of work-in-0 in dev.work.g.dlq (on dev.DLX)") {
		t.Fatalf("ls: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := dlq("replay", "--binding", "work-in-0"); r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0") {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	select {
	case m := <-a.back:
		if m.Payload.ID != "1" {
			t.Errorf("replayed %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the replayed copy did not arrive")
	}
	if n := depth(); n != 0 {
		t.Errorf("after replay: %d dead letters", n)
	}
	if out := rabbittest.Ctl(t, "list_exchanges", "-p", vhost, "name"); strings.Contains("\n"+out+"\n", "\nwork\n") {
		t.Errorf("the unprefixed exchange work was declared:\n%s", out)
	}
}

// TestLintRabbitPrefix: lint's checks between services joined RabbitMQ
// bindings by their bare destination, while the exchange (and queues)
// have SCSt's prefix, as graph's model names them: a producer with prefix
// dev. of out and a consumer of out without it were taken to meet (no
// unroutable warning, though every send is returned), a consumer of
// dev.out without a prefix was taken to miss it (a false warning), a
// required group was taken as read by a consumer of another prefix's
// queue, and graph's partitions finding of a prefixed exchange was lost.
// A producer's required group with queue-name-group-only is the queue
// <prefix><group>, read by such a consumer. (Each service gives its
// consumers and producers the same prefix: lint warns otherwise.)
func TestLintRabbitPrefix(t *testing.T) {
	const prod = `
stream:
  function:
    definition: relay
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    relay-in-0: { destination: in, group: g }
    relay-out-0:
      destination: out
%s  rabbit:
    default:
      consumer:
        prefix: dev.
      producer:
        prefix: dev.
%s`
	const cons = `
stream:
  function:
    definition: sink
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
  bindings:
    sink-in-0:
      destination: %s
      group: sink
%s  rabbit:
    default:
      producer:
        prefix: %[3]q
      consumer:
        prefix: %[3]q
%[4]s`
	groups := "      producer:\n        required-groups: sink\n"
	groupOnly := "        queue-name-group-only: true\n"
	parts := "      producer:\n        partition-count: 2\n        partition-key-expression: headers['k']\n"
	dir := writeFiles(t, map[string]string{
		"prod/application.yaml":      fmt.Sprintf(prod, "", ""),
		"groups/application.yaml":    fmt.Sprintf(prod, groups, ""),
		"grouponly/application.yaml": fmt.Sprintf(prod, groups, groupOnly),
		"parts/application.yaml":     fmt.Sprintf(prod, parts, ""),
		"bare/application.yaml":      fmt.Sprintf(cons, "out", "", "", ""),
		"full/application.yaml":      fmt.Sprintf(cons, "dev.out", "", "", ""),
		"same/application.yaml":      fmt.Sprintf(cons, "out", "", "dev.", ""),
		"sameonly/application.yaml":  fmt.Sprintf(cons, "out", "", "dev.", groupOnly),
		"sameparts/application.yaml": fmt.Sprintf(cons, "out", "      consumer:\n        partitioned: true\n        instance-count: 4\n", "dev.", ""),
	})
	for _, tc := range []struct {
		dirs []string
		want []string
	}{
		{[]string{"prod", "bare"}, []string{"prod/application.yaml:11: stream.bindings.relay-out-0.producer.required-groups: warning: " + unroutable("dev.out") +
			" (producer.required-groups is not set: its default applies)"}},
		{[]string{"prod", "full"}, nil},
		{[]string{"prod", "same"}, nil},
		{[]string{"groups", "bare"}, []string{`groups/application.yaml:14: stream.bindings.relay-out-0.producer.required-groups: warning: provisions group "sink" on dev.out, but no consumer of the services given reads it: its messages pile up (lint the consuming service together with this one)`}},
		{[]string{"groups", "same"}, nil},
		{[]string{"groups", "full"}, nil},
		{[]string{"grouponly", "sameonly"}, nil},
		{[]string{"grouponly", "same"}, []string{`grouponly/application.yaml:14: stream.bindings.relay-out-0.producer.required-groups: warning: provisions group "sink" on dev.out, but no consumer of the services given reads it: its messages pile up (lint the consuming service together with this one)`}},
	} {
		r := runIn(t, dir, nil, append([]string{"lint"}, tc.dirs...)...)
		if r.code != exitOK {
			t.Errorf("%v: exit status %d, stderr %q", tc.dirs, r.code, r.stderr)
		}
		assertLines(t, r.lines(), tc.want)
	}
	// The partitions of dev.out do not fit its consumer's instances: an
	// error of lint, and graph's finding of rabbit:dev.out.
	r := runIn(t, dir, nil, "graph", "--format", "json", "parts", "sameparts")
	if r.code != exitFailure || !strings.Contains(r.stderr, "sends to dev.out with partition-count 2") {
		t.Errorf("graph: exit status %d, stderr %q", r.code, r.stderr)
	}
	var m graphModel
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range m.Findings {
		if f.Kind == "partitions" {
			found = append(found, f.BinderType+":"+f.Destination)
		}
	}
	if strings.Join(found, " ") != "rabbit:dev.out" {
		t.Errorf("partitions findings %v, want rabbit:dev.out", found)
	}
}

// TestSendTailRabbitPrefix: send and tail of a binding whose RabbitMQ
// exchange has SCSt's prefix went to the bare destination, another
// exchange: tail --binding read nothing of the binding's (or another
// environment's messages on a shared broker), send --binding of a
// consumer binding (whose prefix is a consumer property) sent where its
// queue is not bound (unroutable, or to whatever that exchange has), and
// tail --group read the queue <destination>.<group>, not the group's.
func TestSendTailRabbitPrefix(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + rabbitJobsBindings + `  rabbit:
    default:
      consumer:
        prefix: dev.
    bindings:
      emit-out-0:
        producer:
          prefix: dev.
`})
	env := []string{"VHOST=" + vhost}
	// The producer declares dev.jobs and the group's queue.
	if r := runIn(t, dir, env, "send", "--binding", "emit-out-0", `1`); r.code != exitOK {
		t.Fatalf("send emit-out-0: exit status %d, stderr %q", r.code, r.stderr)
	}
	anon := startTail(t, dir, env, "--binding", "work-in-0", "--count", "2", "--timeout", "30s")
	for _, b := range []string{"emit-out-0", "work-in-0"} {
		if r := runIn(t, dir, env, "send", "--binding", b, `2`); r.code != exitOK {
			t.Fatalf("send %s: exit status %d, stderr %q", b, r.code, r.stderr)
		}
	}
	code, got := anon.wait(t)
	if code != exitOK {
		t.Fatalf("tail --binding: exit status %d, stderr %q", code, anon.errText())
	}
	assertLines(t, payloads(got), []string{`2`, `2`})
	group := startTail(t, dir, env, "--binding", "work-in-0", "--group", "workers", "--count", "3", "--timeout", "30s")
	code, got = group.wait(t)
	if code != exitOK {
		t.Fatalf("tail --group: exit status %d, stderr %q", code, group.errText())
	}
	assertLines(t, payloads(got), []string{`1`, `2`, `2`})
	if out := rabbittest.Ctl(t, "list_exchanges", "-p", vhost, "name"); strings.Contains("\n"+out+"\n", "\njobs\n") {
		t.Errorf("the unprefixed exchange jobs was declared:\n%s", out)
	}
}
