package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestDLQNoMessageIDRabbit: a RabbitMQ message without a message_id (a
// Java producer's: Spring AMQP sets none unless configured to), with a
// timestamp of long ago, dead-lettered by the binder (republish-to-dlq):
// the dead letter keeps the original's properties as SCSt's does — no
// message_id, the old timestamp — and streambind dlq still lists it with
// the time it was dead-lettered (its x-streambind-dead-lettered-at
// header, not shown), filters it by --since, replays it (the copy reaches
// the handler without that header) and purges another. Before, the dead
// letter had a message_id the binder generated and the time of the
// republish as its timestamp.
func TestDLQNoMessageIDRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1700000000, 0)
	send := func(id string) {
		t.Helper()
		if err := ch.Publish("work", "", false, false, amqp.Publishing{ContentType: "application/json", Timestamp: old,
			Headers: amqp.Table{"customer": "java"}, Body: []byte(`{"id":"` + id + `","reason":"card declined"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	send("j1")
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	dlq := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq"}, args...)...)
	}

	s := dlq("show", "1", "--binding", "work-in-0")
	m := regexp.MustCompile(`\ntime: (\S+)\n`).FindStringSubmatch(s.stdout)
	if s.code != exitOK || m == nil {
		t.Fatalf("show: exit %d, stdout %q, stderr %q", s.code, s.stdout, s.stderr)
	}
	if at, err := time.Parse(time.RFC3339, m[1]); err != nil || time.Since(at) > time.Hour || time.Since(at) < -time.Minute {
		t.Errorf("show: time %s (%v), want when it was dead-lettered, not its timestamp %v", m[1], err, old)
	}
	for _, bad := range []string{"x-streambind-dead-lettered-at", "\n  id: "} {
		if strings.Contains(s.stdout, bad) {
			t.Errorf("show lists %q:\n%s", bad, s.stdout)
		}
	}
	if !strings.Contains(s.stdout, "customer: java") || !strings.Contains(s.stdout, "card declined") {
		t.Errorf("show:\n%s", s.stdout)
	}
	if r := dlq("ls", "--binding", "work-in-0"); r.code != exitOK || !regexp.MustCompile(`\n1 +\S+ +\S+ +card declined\n`).MatchString(r.stdout) {
		t.Errorf("ls: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := dlq("replay", "--binding", "work-in-0", "--dry-run", "--until", "1h"); r.code != exitOK ||
		!strings.Contains(r.stdout, "would replay 0 dead letters of work-in-0; 1 did not match the filters") {
		t.Errorf("replay --dry-run --until 1h: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := dlq("replay", "--binding", "work-in-0", "--since", "1h"); r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0") {
		t.Fatalf("replay --since 1h: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	select {
	case got := <-a.back:
		if got.Payload.ID != "j1" || got.Headers["customer"] != "java" {
			t.Errorf("replayed copy: %+v", got)
		}
		if v, ok := got.Headers["x-streambind-dead-lettered-at"]; ok {
			t.Errorf("replayed copy carries x-streambind-dead-lettered-at %q", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the replayed copy did not reach the handler")
	}
	eventually(t, "DLQ empty after the replay", func() bool { return depth() == 0 })

	send("j2")
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	if r := dlq("purge", "--binding", "work-in-0", "--since", "1h", "--yes"); r.code != exitOK || !strings.Contains(r.stdout, "purged 1 dead letter of work-in-0") {
		t.Errorf("purge --since 1h: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	eventually(t, "DLQ empty after the purge", func() bool { return depth() == 0 })
}
