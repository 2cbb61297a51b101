package main

import (
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
