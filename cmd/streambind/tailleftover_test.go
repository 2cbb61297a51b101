package main

import (
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestTailGroupOfDLQBindingLeavesItsDLQ: tail --binding B --group G of a
// binding with dlq declares G's queue as B's service does, with B's
// x-dead-letter-* arguments, and the dead-letter queue they route to:
// what the broker dead-letters (past B's ttl or max-length) is kept
// there, not dropped. The help (and cli.md) lists that DLQ among what
// stays after tail ends; it listed only the group's queue.
func TestTailGroupOfDLQBindingLeavesItsDLQ(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    work-in-0:
      destination: nc1-shipments
      group: audit
      consumer:
        dlq: true
`})
	env := []string{"VHOST=" + vhost}
	tr := startTail(t, dir, env, "--binding", "work-in-0", "--group", "audit2", "--count", "1", "--timeout", "30s")
	if r := runIn(t, dir, env, "send", "--binding", "work-in-0", `{}`); r.code != exitOK {
		t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
	}
	if code, got := tr.wait(t); code != exitOK || len(got) != 1 {
		t.Fatalf("tail: exit status %d, %d messages, stderr %q", code, len(got), tr.errText())
	}
	ch := rabbittest.Channel(t, vhost)
	for _, q := range []string{"nc1-shipments.audit2", "nc1-shipments.audit2.dlq"} {
		if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
			t.Fatalf("queue %s after tail: %v", q, err)
		}
	}
}
