package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDLQRabbitIDIsAPosition pins what dlq show's help says of a RabbitMQ
// dead letter's id: its position when the command read it, so that
// --id 2 names another dead letter once one ahead of it was replayed;
// the message id (the id header) stays with it, and replay --header
// id=<it> takes exactly that one.
func TestDLQRabbitIDIsAPosition(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	a.send(t, "c-1", job{"1", "declined"}, job{"2", "declined"}, job{"3", "declined"})
	a.waitDeadLettered(t, 3, depth)

	dlq := func(args ...string) result {
		t.Helper()
		r := runIn(t, dir, env, append([]string{"dlq"}, append(args, "--binding", "work-in-0")...)...)
		if r.code != exitOK {
			t.Fatalf("dlq %v: exit status %d, stderr %q", args, r.code, r.stderr)
		}
		return r
	}
	msgID := regexp.MustCompile(`(?m)^  id: (\S+)$`)
	show := func(args ...string) (id, job, messageID string) {
		t.Helper()
		out := dlq(append([]string{"show"}, args...)...).stdout
		m := msgID.FindStringSubmatch(out)
		j := regexp.MustCompile(`"id": "(\d)"`).FindStringSubmatch(out)
		i := regexp.MustCompile(`(?m)^id: (\S+)$`).FindStringSubmatch(out)
		if m == nil || j == nil || i == nil {
			t.Fatalf("show %v:\n%s", args, out)
		}
		return i[1], j[1], m[1]
	}
	id1, job1, mid1 := show("1")
	id2, job2, mid2 := show("--id", "2")
	if id1 != "1" || job1 != "1" || id2 != "2" || job2 != "2" || mid1 == mid2 {
		t.Fatalf("show 1: id %s job %s message id %s; show --id 2: id %s job %s message id %s", id1, job1, mid1, id2, job2, mid2)
	}

	// Replay the first by its message id: only it goes.
	if r := dlq("replay", "--header", stream.HeaderID+"="+mid1); !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0; 2 did not match") {
		t.Fatalf("replay --header id=%s: stdout %q", mid1, r.stdout)
	}
	select {
	case m := <-a.back:
		if m.Payload.ID != "1" {
			t.Fatalf("replayed job %s, want 1", m.Payload.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the replayed copy did not arrive")
	}
	// Id 2 now names job 3: a position. The message id still finds job 2.
	if id, job, _ := show("--id", "2"); id != "2" || job != "3" {
		t.Errorf("show --id 2 after the replay: id %s job %s; want job 3 (RabbitMQ ids are positions)", id, job)
	}
	if r := dlq("replay", "--dry-run", "--header", stream.HeaderID+"="+mid2); !strings.Contains(r.stdout, "would replay dead letter 1 to ") {
		t.Errorf("replay --dry-run --header id=%s: stdout %q; want job 2 at position 1", mid2, r.stdout)
	}
}
