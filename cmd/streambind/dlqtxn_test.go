package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDLQKafkaTransactional: a dead-letter topic written in transactions
// (a Java SCSt service with transaction-id-prefix: its DLQ sends are in
// its transactions), with markers and an aborted transaction between the
// committed dead letters, over two partitions and two producers. ls counts
// exactly the committed dead letters (no transaction marker as a 6-byte
// dead letter with no exception, no record of a rolled-back transaction),
// replay sends exactly them, the group's committed offset then stands at
// the end of each partition, and a second run finds nothing.
func TestDLQKafkaTransactional(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	want, ends := c.TxnDeadLetters(t, "error.work.g", 1, func(name string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"reason":"boom"}`, name)
	})
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	dlq := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir}, append([]string{"dlq"}, args...)...)
	}

	ls := dlq("ls", "--binding", "work-in-0")
	if ls.code != exitOK || !strings.HasPrefix(ls.stdout, fmt.Sprintf("%d dead letters of work-in-0", len(want))) || strings.Contains(ls.stdout, "(none)") {
		t.Fatalf("ls: exit %d, stdout %q, stderr %q; want the %d committed dead letters", ls.code, ls.stdout, ls.stderr, len(want))
	}
	for _, n := range want {
		if !strings.Contains(ls.stdout, "boom "+n+"\n") {
			t.Errorf("ls lacks %s:\n%s", n, ls.stdout)
		}
	}

	r := dlq("replay", "--binding", "work-in-0")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, fmt.Sprintf("replayed %d dead letters of work-in-0; 0 did not match", len(want))) {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case m := <-a.back:
			got = append(got, m.Payload.ID)
		case <-deadline:
			t.Fatalf("replayed copies %q; want %q", got, want)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("replayed copies %q; want %q", got, want)
	}

	checkDLQCommittedAtEnd(t, c, ends)
	if d := lsDepth(t, dir, env)(); d != 0 {
		t.Errorf("after the replay, ls counts %d dead letters; want 0", d)
	}
	if r := dlq("replay", "--binding", "work-in-0"); r.code != exitOK || !strings.HasPrefix(r.stdout, "replayed 0 dead letters") {
		t.Errorf("second replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestDLQConcurrentReplaysKafkaTransactional: two replays at once of a
// dead-letter topic written in transactions (200 committed dead letters
// among 40 aborted transactions and 360 markers, two partitions) share the
// group's partitions: each committed dead letter is replayed once, by one
// of them, nothing else is, and the group's committed offsets end at the
// end of each partition.
func TestDLQConcurrentReplaysKafkaTransactional(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	want, ends := c.TxnDeadLetters(t, "error.work.g", 40, func(name string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"reason":"boom"}`, name)
	})
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	if d := lsDepth(t, dir, env)(); d != len(want) {
		t.Fatalf("ls counts %d dead letters; want %d", d, len(want))
	}
	run := func() (*exec.Cmd, *bytes.Buffer) {
		// The test binary stands in for the command (see TestMain).
		// --rate 100: 2s for all of them alone, so the two overlap.
		cmd := exec.Command(os.Args[0], "dlq", "replay", "--config", dir, "--binding", "work-in-0", "--rate", "100", "--lease", "6s")
		cmd.Env = append(append(os.Environ(), "STREAMBIND_TEST_MAIN=1"), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	first, out1 := run()
	second, out2 := run()
	err1, err2 := first.Wait(), second.Wait()
	if err1 != nil || err2 != nil {
		t.Fatalf("replays: %v\n%s\n%v\n%s", err1, out1, err2, out2)
	}
	t.Logf("replays: %s%s", out1, out2)
	sum := 0
	for _, out := range []*bytes.Buffer{out1, out2} {
		m := summaryCount.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no summary in %q", out)
		}
		n, _ := strconv.Atoi(m[1])
		sum += n
	}
	if sum != len(want) {
		t.Errorf("the replays sent %d dead letters; want %d", sum, len(want))
	}
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case m := <-a.back:
			got = append(got, m.Payload.ID)
		case <-deadline:
			t.Fatalf("%d replayed copies; want %d", len(got), len(want))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("replayed copies %q; want each of %q once", got, want)
	}
	checkDLQCommittedAtEnd(t, c, ends)
	if d := lsDepth(t, dir, env)(); d != 0 {
		t.Errorf("after the replays, ls counts %d dead letters; want 0", d)
	}
}

// checkDLQCommittedAtEnd checks that the group streambind-dlq committed
// the end of each partition of error.work.g.
func checkDLQCommittedAtEnd(t *testing.T, c *kafkatest.Cluster, ends map[int]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
	res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: kafka.DefaultDeadLetterGroup, Topics: map[string][]int{"error.work.g": {0, 1}}})
	if err != nil || res.Error != nil {
		t.Fatalf("offset fetch: %v %v", err, res.Error)
	}
	for _, p := range res.Topics["error.work.g"] {
		if p.Error != nil || p.CommittedOffset != ends[p.Partition] {
			t.Errorf("partition %d: group %s committed %d (%v); want %d, the end", p.Partition, kafka.DefaultDeadLetterGroup, p.CommittedOffset, p.Error, ends[p.Partition])
		}
	}
}
