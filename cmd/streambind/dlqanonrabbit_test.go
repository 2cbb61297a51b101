package main

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestDLQAnonymousRabbitSaysWhere: streambind dlq ls --binding B of an
// anonymous RabbitMQ consumer with dlq said "an anonymous consumer has no
// dead letters"; its dead letters go to the DLX with the queue's
// dead-letter routing key (dead-letter-routing-key, else the anonymous
// queue's name, new at every start), to the queues the user bound there.
// The error now says so, and how to read them (tail --exchange
// --routing-key). Without dlq an anonymous consumer has none, as before.
func TestDLQAnonymousRabbitSaysWhere(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	env := []string{"VHOST=" + vhost}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"default key", `    work-in-0:
      destination: work
      consumer:
        dlq: true
`, []string{`--binding work-in-0: binding work-in-0 has no group: an anonymous RabbitMQ consumer has no DLQ (as in SCSt); its dead letters go to the exchange DLX with routing key its queue's own name, work.anonymous.<id>, new at every start: set stream.rabbit.bindings.work-in-0.consumer.dead-letter-routing-key to a fixed key, and from there to the queues you bind to DLX with that key`,
			"streambind tail --exchange DLX --routing-key <that key>"}},
		{"fixed key", `    work-in-0:
      destination: work
      consumer:
        dlq: true
  rabbit:
    bindings:
      work-in-0:
        consumer:
          prefix: dev.
          dead-letter-routing-key: work.anon.failed
`, []string{`its dead letters go to the exchange dev.DLX with routing key "work.anon.failed" (its dead-letter-routing-key)`,
			"streambind tail --exchange dev.DLX --routing-key work.anon.failed prints those"}},
		{"no dlq", `    work-in-0:
      destination: work
`, []string{"binding work-in-0 has no group: an anonymous consumer has no dead letters"}},
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + tc.yaml})
		r := runIn(t, dir, env, "dlq", "ls", "--binding", "work-in-0")
		if r.code != exitFailure {
			t.Errorf("%s: exit status %d, want %d; stderr %q", tc.name, r.code, exitFailure, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr\n%s\nwant it to contain\n%s", tc.name, r.stderr, w)
			}
		}
	}
}
