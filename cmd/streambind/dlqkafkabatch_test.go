package main

// dlq replay and purge over Kafka's batched dead-letter cursor (kfake):
// the twins of the pipelined tests of NATS, Redis and RabbitMQ
// (dlqpipeline_test.go, break_rabbitbatch_test.go), and the commit
// metadata's limit reached by a filtered replay.

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// kafkaDLQService is dlqService on a kfake cluster of the test's own, its
// dead-letter topic of parts partitions; depth counts the dead letters as
// dlq ls does, claims the members of the group streambind-dlq (a
// claiming cursor is one: none once every replay and purge ended). The
// app handles 8 at a time (handleConcurrently) unless inOrder.
func kafkaDLQService(t *testing.T, parts int, inOrder bool) (dir string, env []string, a *dlqApp, depth, claims func() int) {
	heavyKafka(t)
	c := kafkatest.Start(t)
	svc := fmt.Sprintf(dlqService, kafkaBinder)
	if parts > 1 {
		svc = strings.Replace(svc, "      auto-create-topics: true", fmt.Sprintf("      auto-create-topics: true\n      min-partition-count: %d", parts), 1)
	}
	dir = writeFiles(t, map[string]string{"application.yaml": svc})
	env = []string{"KAFKA_BROKERS=" + c.Brokers()}
	if !inOrder {
		handleConcurrently(t, dir)
	}
	a = startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	claims = func() int {
		_, as := kafkaGroupMembers(t, c.Brokers(), kafka.DefaultDeadLetterGroup)
		return len(as)
	}
	return dir, env, a, lsDepth(t, dir, env), claims
}

// heavyKafkaTurn is held by a test of kafkaDLQService from its start to
// its end, by one at a time: those tests dead-letter and replay hundreds
// or thousands of messages through a kfake cluster in this process and
// through processes of the command, under -race, computing all along
// rather than waiting on a broker elsewhere. Among parallelTests at once
// the eight of them ran together on two cores, 59-360 s each, and three to
// six of them failed a run waiting 2 minutes for their thousands of dead
// letters (load 17-30); one at a time each took 17-129 s of its own at
// load 28, one of the eight failing. A test waiting for its turn holds
// one of the parallelTests places.
var heavyKafkaTurn = make(chan struct{}, 1)

// heavyKafka waits for t's turn among the heavy Kafka tests, held until t
// ends. Called before t starts its cluster: the turn is given back after
// every other clean-up of t (they run last in, first out).
func heavyKafka(t *testing.T) {
	t.Helper()
	start := time.Now()
	heavyKafkaTurn <- struct{}{}
	t.Cleanup(func() { <-heavyKafkaTurn })
	if w := time.Since(start); w > time.Second {
		t.Logf("waited %s for the other heavy Kafka tests", w.Round(time.Millisecond))
	}
}

// A killed replay (SIGKILL) replays again at most its batch: what it had
// removed is behind the group's committed position (or listed in its
// metadata), and its member's partitions come back when its session (the
// lease) runs out.
func TestDLQReplayPipelinedKilledKafka(t *testing.T) {
	t.Parallel()
	kafkaPipelinedStopped(t, syscall.SIGKILL, replayWindow)
}

// An interrupted one (SIGINT) commits past the dead letters of the copies
// it had confirmed before it leaves the group: the next replay sends none
// again. Its member left the group as the interrupt ended the ctx it
// opened the cursor with, and the broker refused the commit of the batch
// in flight (9, 128 and 69 duplicates in 3 runs); and it read on to the
// end from what one fetch had brought, the interrupt unseen (the first
// replay "finished before it was stopped", 3 of 3).
func TestDLQReplayPipelinedInterruptedKafka(t *testing.T) {
	t.Parallel()
	kafkaPipelinedStopped(t, syscall.SIGINT, 0)
}

// kafkaPipelinedStopped is pipelinedStopped on Kafka: 2,000 dead
// letters, as on the other brokers, the first replay stopped once it
// removed 300 (its group's committed offset, polled: a Kafka replay of
// thousands may be over before its first hundreds of copies reach the
// app). It was stopped with 386-512 copies arrived (a replay removes 128
// at a time), far from the end, with 4,000 as with 2,000. 10,000 took the
// suite ~170 s a test under -race (its dlq ls timing out at load 12);
// 4,000 half that, most of it dead-lettering and replaying the rest.
func kafkaPipelinedStopped(t *testing.T, sig syscall.Signal, maxDups int) {
	dir, env, a, depth, claims := kafkaDLQService(t, 1, false)
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(strings.TrimPrefix(env[0], "KAFKA_BROKERS="), ",")...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	committed := func() int64 {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group = kafka.DefaultDeadLetterGroup
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = "error.work.g", []int32{0}
		req.Topics = []kmsg.OffsetFetchRequestTopic{rt}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return -1
		}
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				return p.Offset
			}
		}
		return -1
	}
	pipelinedStoppedAt(t, dir, env, a, depth, claims, sig, maxDups, 2000, "300 removed", func(*copies) bool { return committed() >= 300 })
}

func TestDLQReplayKeyOrderKafka(t *testing.T) {
	t.Parallel()
	dir, env, a, depth, _ := kafkaDLQService(t, 1, true)
	keyOrder(t, dir, env, a, depth)
}

// Two unpaced replays, and a replay and a purge, at once over a topic of
// three partitions: each dead letter is replayed or purged once, none is
// left, and no member is left in the group. A rebalance (the second
// joins) waits for the first to remove the batch it holds.
func TestDLQBatchReplayWhileReplayKafka(t *testing.T) {
	t.Parallel()
	replayAlongsideKafka(t, "replay")
}

func TestDLQBatchReplayWhilePurgeKafka(t *testing.T) {
	t.Parallel()
	replayAlongsideKafka(t, "purge", "--yes")
}

func replayAlongsideKafka(t *testing.T, other ...string) {
	dir, env, a, depth, claims := kafkaDLQService(t, 3, false)
	const n = 3000
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, depth)
	c := collectCopies(t, a)
	// Both at once: a replay of a few thousand on Kafka is over before
	// its copies arrive.
	replay := startDLQ(t, dir, env, "replay", "--lease", "6s")
	second := startDLQ(t, dir, env, other[0], append([]string{"--lease", "6s"}, other[1:]...)...)
	replay.wait(t, 2*time.Minute)
	second.wait(t, 2*time.Minute)
	if replay.err != nil || second.err != nil {
		t.Fatalf("replay: %v\n%s\n%s: %v\n%s", replay.err, replay.out, other[0], second.err, second.out)
	}
	first, other2 := replay.count(t), second.count(t)
	replayed := first
	if other[0] == "replay" {
		replayed += other2
	}
	// A run that reached its end while the other held partitions left
	// those to it (its summary says so): together they took all.
	if first+other2 != n {
		t.Errorf("replay %d, %s %d: %d of %d\n%s\n%s", first, other[0], other2, first+other2, n, replay.out, second.out)
	}
	eventually(t, "every copy", func() bool { d, _ := c.counts(); return d >= replayed })
	a.stop()
	if d, dups := c.counts(); d != replayed || dups != 0 {
		t.Errorf("%d distinct copies, %d duplicates; the replays say %d", d, dups, replayed)
	}
	if d := depth(); d != 0 {
		t.Errorf("%d dead letters left", d)
	}
	if k := claims(); k != 0 {
		t.Errorf("%d members left in the group", k)
	}
	t.Logf("replay %d, %s %d", first, other[0], other2)
}

// --limit at the batch boundary (128) and around it replays exactly that
// many, each once, and leaves the rest; a purge --limit too.
func TestDLQBatchReplayLimitKafka(t *testing.T) {
	t.Parallel()
	dir, env, a, depth, _ := kafkaDLQService(t, 1, false)
	const n = 700
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, depth)
	c := collectCopies(t, a)
	steps := []limitStep{{"replay", "128", 128}, {"replay", "129", 129}, {"purge", "256", 256}, {"replay", "1000", n - 128 - 129 - 256}}
	copies := runLimitSteps(t, dir, env, c, n, steps, func(step limitStep, left int) {
		if d := depth(); d != left {
			t.Fatalf("after %s --limit %s: %d dead letters left; want %d", step.sub, step.limit, d, left)
		}
	})
	a.stop()
	if d, dups := c.counts(); d != copies || dups != 0 {
		t.Errorf("%d distinct copies, %d duplicates; want %d, 0", d, dups, copies)
	}
}

// sendInterleaved sends per jobs each of customers c and d, alternating,
// one at a time: the app (one at a time: kafkaDLQService inOrder)
// dead-letters them in that order.
func sendInterleaved(t *testing.T, a *dlqApp, per int) {
	for i := range per {
		a.send(t, "c", job{fmt.Sprint("c", i), "poison"})
		a.send(t, "d", job{fmt.Sprint("d", i), "poison"})
	}
}

// wouldReplay is the IDs a dry run lists, in its order.
func wouldReplay(t *testing.T, dir string, env []string) []string {
	t.Helper()
	r := runIn(t, dir, env, "dlq", "replay", "--binding", "work-in-0", "--dry-run")
	if r.code != exitOK {
		t.Fatalf("dry run: exit %d\n%s", r.code, r.stderr)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^would replay dead letter (\d+/\d+) `).FindAllStringSubmatch(r.stdout, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// A filtered replay (--header, every other one of 600, so that each
// batch passes over half of what it read) replays those and leaves the
// others, all of them, in their places: the group's metadata lists what
// it removed behind the first one kept.
func TestDLQBatchFilteredReplayKeepsPlacesKafka(t *testing.T) {
	t.Parallel()
	dir, env, a, depth, _ := kafkaDLQService(t, 1, true)
	const per = 300
	sendInterleaved(t, a, per)
	a.waitDeadLettered(t, 2*per, depth)
	before := wouldReplay(t, dir, env)
	c := collectCopies(t, a)
	r := startDLQ(t, dir, env, "replay", "--header", "customer=c")
	r.wait(t, time.Minute)
	if r.err != nil || r.count(t) != per {
		t.Fatalf("replay: %v\n%s", r.err, r.out)
	}
	eventually(t, "the copies", func() bool { d, _ := c.counts(); return d >= per })
	var want []string
	for i, id := range before {
		if i%2 == 1 {
			want = append(want, id)
		}
	}
	if after := wouldReplay(t, dir, env); !slices.Equal(after, want) {
		t.Errorf("the dead letters passed over are not in their places:\nwant %v\ngot  %v", want, after)
	}
	a.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.order {
		if m.Headers["customer"] != "c" {
			t.Fatalf("a copy of customer %q's job %s", m.Headers["customer"], m.Payload.ID)
		}
	}
}

// A filtered replay of 2,000 interleaved dead letters, every other one
// kept, fills the commit metadata's list (4,000 bytes) before its end: it
// fails naming the limit, and it sent the copy of only one dead letter
// it did not remove, as one at a time: the cursor's batches shrink as the
// list fills, where a batch of copies whose dead letters could not be
// removed would be sent again by the next replay.
func TestDLQBatchReplayMetadataLimitKafka(t *testing.T) {
	t.Parallel()
	dir, env, a, depth, _ := kafkaDLQService(t, 1, true)
	const per = 1000
	sendInterleaved(t, a, per)
	a.waitDeadLettered(t, 2*per, depth)
	c := collectCopies(t, a)
	r := startDLQ(t, dir, env, "replay", "--header", "customer=c")
	r.wait(t, time.Minute)
	out := r.out.String()
	if r.err == nil || !strings.Contains(out, "too many dead letters removed behind kept ones") {
		t.Fatalf("replay: %v; want it to fail on the metadata's limit\n%s", r.err, out)
	}
	replayed := r.count(t)
	if replayed < 500 || replayed >= per {
		t.Fatalf("replayed %d of %d\n%s", replayed, per, out)
	}
	eventually(t, "the copies", func() bool { d, _ := c.counts(); return d >= replayed+1 })
	a.stop()
	if d, dups := c.counts(); d != replayed+1 || dups != 0 {
		t.Errorf("%d distinct copies, %d duplicates; replayed %d (and the copy of the one not removed)", d, dups, replayed)
	}
	if d := depth(); d != 2*per-replayed {
		t.Errorf("%d dead letters left; want %d", d, 2*per-replayed)
	}
	t.Logf("replayed %d: %s", replayed, out)
}
