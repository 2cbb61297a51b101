package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDLQKafkaJoinWaitNoted: a replay after a killed one waits, on Kafka,
// for the killed member's session to time out before it has the
// partitions; it said nothing for that long (a trial: ~30s of silence).
// After 2s it notes on stderr what it waits for and for at most how long.
func TestDLQKafkaJoinWaitNoted(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	const n = 20
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, lsDepth(t, dir, env))

	// The test binary stands in for the command (see TestMain).
	first := exec.Command(os.Args[0], "dlq", "replay", "--config", dir, "--binding", "work-in-0", "--rate", "2", "--lease", "6s")
	first.Env = append(append(os.Environ(), "STREAMBIND_TEST_MAIN=1"), env...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a replayed copy", func() bool { return len(a.back) > 0 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	r := runWith(t, &runEnv{dir: dir, env: env}, "dlq", "replay", "--binding", "work-in-0", "--lease", "6s")
	want := "note: kafka: joining group streambind-dlq on error.work.g takes long: waiting for the partitions of a previous replay or purge that did not leave the group (killed: up to 6s, the session timeout"
	if r.code != exitOK || strings.Count(r.stderr, want) != 1 {
		t.Errorf("second replay: exit %d, stdout %q, stderr %q; want one note %q", r.code, r.stdout, r.stderr, want)
	}
}

// TestDLQKafkaNewGroupWarned: on Kafka what dlq removed is the --group's
// committed position: a --group that never committed on the dead-letter
// topic lists (and would replay) every dead letter again, those replayed
// with another group included. ls and replay warn, naming the groups that
// have committed; the default group's first use (no group committed) and
// a group that committed are not warned of.
func TestDLQKafkaNewGroupWarned(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	const n = 3
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, lsDepth(t, dir, env))
	dlq := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{dir: dir, env: env}, append(args, "--binding", "work-in-0")...)
	}
	if r := dlq("dlq", "ls"); r.code != exitOK || strings.Contains(r.stderr, "warning") {
		t.Errorf("first ls: exit %d, stderr %q; want no warning", r.code, r.stderr)
	}
	if r := dlq("dlq", "replay", "--limit", "2"); r.code != exitOK || strings.Contains(r.stderr, "warning") {
		t.Errorf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	want := "warning: kafka: group fresh has never removed a dead letter of error.work.g (no offset committed): every dead letter counts as not replayed for this group, also those replayed with another --group; groups that have committed on error.work.g: streambind-dlq\n"
	for _, args := range [][]string{{"dlq", "ls", "--group", "fresh"}, {"dlq", "replay", "--group", "fresh", "--dry-run"}} {
		if r := dlq(args...); r.code != exitOK || !strings.Contains(r.stderr, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", args, r.code, r.stdout, r.stderr, want)
		}
	}
	if r := dlq("dlq", "ls"); r.code != exitOK || strings.Contains(r.stderr, "warning") {
		t.Errorf("ls of the group that committed: exit %d, stderr %q; want no warning", r.code, r.stderr)
	}
}
