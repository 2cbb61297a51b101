package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// Purge's rounds with --limit, and a declined purge, when a replay took
// the partition while the purge waited at its question (as
// TestDLQBreakPurgeRereadsAfterRebalanceKafka).
func TestReviewDLQPurgeRoundsKafka(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		args         []string
		purged, left int
	}{
		{"limit", "y\n", []string{"--limit", "5"}, 5, 4},
		{"declined", "n\n", nil, 0, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
			env := []string{"KAFKA_BROKERS=" + c.Brokers()}
			a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
			const n = 10
			for i := range n {
				a.send(t, "c", job{fmt.Sprint(i), "poison"})
			}
			depth := lsDepth(t, dir, env)
			eventually(t, "10 dead letters", func() bool { return depth() == n })
			pp := startDLQ(t, dir, env, "purge", append([]string{"--lease", "6s"}, tc.args...)...)
			eventually(t, "the purge's question", func() bool { return strings.Contains(pp.out.String(), "[y/N]") })
			pr := startDLQ(t, dir, env, "replay", "--limit", "1", "--lease", "6s")
			pr.wait(t, 90*time.Second)
			if _, err := io.WriteString(pp.stdin, tc.answer); err != nil {
				t.Fatal(err)
			}
			pp.wait(t, 90*time.Second)
			t.Logf("purge (exit %v): %s\nreplay (exit %v): %s", pp.err, pp.out, pr.err, pr.out)
			if pp.err != nil || pr.err != nil {
				t.Fatalf("purge %v, replay %v", pp.err, pr.err)
			}
			got := 0
			if m := regexp.MustCompile(`purged (\d+) dead letter`).FindStringSubmatch(pp.out.String()); m != nil {
				fmt.Sscan(m[1], &got)
			} else if !strings.Contains(pp.out.String(), "nothing purged") {
				t.Errorf("no summary")
			}
			if r := pr.count(t); r != 1 || got != tc.purged {
				t.Errorf("replay took %d, purge %d; want 1 and %d", r, got, tc.purged)
			}
			if d := depth(); d != tc.left {
				t.Errorf("%d dead letters left, want %d", d, tc.left)
			}
			a.stop()
		})
	}
}
