package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestDLQReplayToMissingExchangeCreatesNothing: on RabbitMQ a replay --to
// (or --to-exchange) an exchange that does not exist fails naming it and
// creates nothing (a trial: replay --to nowhere failed "unroutable" but
// left an exchange nowhere declared); the dead letter is kept.
func TestDLQReplayToMissingExchangeCreatesNothing(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	dead := queueDepth(t, vhost, "work.g.dlq")
	a.send(t, "c-1", job{"1", "card declined"})
	eventually(t, "1 dead letter", func() bool { return dead() == 1 })
	a.stop()

	for _, args := range [][]string{{"--to", "nowhere"}, {"--to-exchange", "nowhere.exact"}} {
		ex := args[1]
		r := runWith(t, &runEnv{env: env, dir: dir}, append([]string{"dlq", "replay", "--binding", "work-in-0"}, args...)...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "exchange "+ex+" ("+args[0]+" "+ex+") does not exist") || strings.Contains(r.stderr, "every consumer group") {
			t.Errorf("replay %v: exit %d, stdout %q, stderr %q; want a failure naming exchange %s", args, r.code, r.stdout, r.stderr, ex)
		}
		ch := rabbittest.Channel(t, vhost)
		if err := ch.ExchangeDeclarePassive(ex, "topic", true, false, false, false, nil); err == nil {
			t.Errorf("replay %v declared exchange %s", args, ex)
		}
		if n := dead(); n != 1 {
			t.Errorf("after replay %v: %d dead letters, want 1 kept", args, n)
		}
	}
	// The binding's own exchange exists: the replay goes on as before.
	r := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "replay", "--binding", "work-in-0")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0") {
		t.Errorf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
