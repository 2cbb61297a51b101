package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// Two replays of the same dead letters at once (two terminals, a retried
// job) hand each dead letter to one of them: 200 dead letters make 200
// copies, each dead letter's once, and none is left.
func TestDLQConcurrentReplaysKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	replayConcurrently(t, dir, env, a, lsDepth(t, dir, env), "replay")
}

func TestDLQConcurrentReplaysNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	a := startDLQApp(t, dir, env, opt)
	replayConcurrently(t, dir, env, a, lsDepth(t, dir, env), "replay")
}

func TestDLQConcurrentReplaysRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	a := startDLQApp(t, dir, env, opt)
	replayConcurrently(t, dir, env, a, depth, "replay")
}

func TestDLQConcurrentReplaysRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	replayConcurrently(t, dir, env, a, queueDepth(t, vhost, "work.g.dlq"), "replay")
}

// A purge at the same time as a replay: each dead letter is replayed or
// purged, never both.
func TestDLQReplayWhilePurgeRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	a := startDLQApp(t, dir, env, opt)
	replayConcurrently(t, dir, env, a, depth, "purge")
}

func TestDLQReplayWhilePurgeNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	a := startDLQApp(t, dir, env, opt)
	replayConcurrently(t, dir, env, a, lsDepth(t, dir, env), "purge")
}

func TestDLQReplayWhilePurgeKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	replayConcurrently(t, dir, env, a, lsDepth(t, dir, env), "purge")
}

var summaryCount = regexp.MustCompile(`(?m)^(?:replayed|purged) (\d+) dead letter`)

// replayConcurrently dead-letters 200 messages of a's work-in-0, then runs
// a replay and other (replay, or purge --yes) at once, each in a process
// of its own as an operator would, paced so that they overlap. The copies
// are counted by x-streambind-replayed-id at the destination.
func replayConcurrently(t *testing.T, dir string, env []string, a *dlqApp, dlqDepth func() int, other string) {
	const n = 200
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, dlqDepth)

	run := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		// The test binary stands in for the command (see TestMain).
		cmd := exec.Command(os.Args[0], append([]string{"dlq", args[0], "--config", dir, "--binding", "work-in-0"}, args[1:]...)...)
		cmd.Env = append(append(os.Environ(), "STREAMBIND_TEST_MAIN=1"), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	seen := map[string]int{}
	total := 0
	take := func() {
		for {
			select {
			case m := <-a.back:
				seen[m.Headers[stream.HeaderReplayedID]]++
				total++
			default:
				return
			}
		}
	}
	// --rate 100: 2s for all of them alone, so the two overlap.
	first, out1 := run("replay", "--rate", "100")
	var second *exec.Cmd
	var out2 *bytes.Buffer
	if other == "purge" {
		// Once the replay is under way (the purge's count would otherwise
		// claim all of them first).
		eventually(t, "20 replayed", func() bool { take(); return total >= 20 })
		second, out2 = run("purge", "--yes")
	} else {
		second, out2 = run("replay", "--rate", "100")
	}
	err1, err2 := first.Wait(), second.Wait()
	if err1 != nil || err2 != nil {
		t.Fatalf("replay: %v\n%s\n%s: %v\n%s", err1, out1, other, err2, out2)
	}
	counts := [2]int{}
	for i, out := range []*bytes.Buffer{out1, out2} {
		m := summaryCount.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no summary in %q", out)
		}
		counts[i], _ = strconv.Atoi(m[1])
	}
	t.Logf("replay: %s%s: %s", out1, other, out2)
	if counts[0]+counts[1] != n {
		t.Errorf("replay took %d and %s %d of %d dead letters: some went to both", counts[0], other, counts[1], n)
	}
	replayed := counts[0]
	if other == "replay" {
		replayed += counts[1]
	}
	eventually(t, "every replayed copy", func() bool { take(); return total >= replayed })
	a.stop() // handles and acknowledges what it took
	take()
	if d := dlqDepth(); d != 0 {
		t.Errorf("%d dead letters left", d)
	}
	for id, c := range seen {
		if c > 1 || id == "" {
			t.Errorf("dead letter with id %q replayed %d times", id, c)
		}
	}
	if total != replayed {
		t.Errorf("%d copies arrived; the replays say they sent %d", total, replayed)
	}
}

// TestDLQKafkaRefusesBindingGroup: replay and purge join their --group as
// members; the binding's own consumer group would rebalance the running
// app, so it is refused before anything connects. ls and --dry-run, which
// only read that group's offsets, are not refused.
func TestDLQKafkaRefusesBindingGroup(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + refusedAddr(t)}
	for _, args := range [][]string{
		{"dlq", "replay", "--binding", "work-in-0", "--group", "g"},
		{"dlq", "purge", "--binding", "work-in-0", "--group", "G", "--yes"},
	} {
		r, _ := runBounded(t, dir, env, 20*time.Second, args...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "--group") || !strings.Contains(r.stderr, "consumer group of work-in-0") {
			t.Errorf("%v: exit %d, want %d refusing the binding's group:\n%s%s", args, r.code, exitFailure, r.stdout, r.stderr)
		}
	}
	r, _ := runBounded(t, dir, env, 20*time.Second, "dlq", "replay", "--binding", "work-in-0", "--group", "g", "--dry-run", "--connect-timeout", "200ms")
	if strings.Contains(r.stderr, "consumer group of work-in-0") {
		t.Errorf("replay --dry-run --group g refused; it only reads:\n%s", r.stderr)
	}
}
