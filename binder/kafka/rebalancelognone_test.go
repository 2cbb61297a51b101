package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestRebalanceLogMemberWithoutPartitions: a member that gets no
// partition of a topic it subscribes to (two members, two topics of one
// partition each: the group's range assignment gives both partitions to
// one member) logs "none" on its assigned and revoked lines, as the package
// doc says, and the other member's line names only partitions. kafka-go
// hands such a member its topics with no partitions; before, the lines
// showed "a: b:" (a topic and nothing after it).
func TestRebalanceLogMemberWithoutPartitions(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	a := uniqueTopic(t)
	b := a + "-b"
	createTopic(t, c, a, 1, nil)
	createTopic(t, c, b, 1, nil)
	env := map[string]any{"session-timeout": "20s", "heartbeat-interval": "500ms", "rebalance-timeout": "4s"}
	nop := func(context.Context, stream.Envelope) error { return nil }
	var bufs [2]syncbuf.Buffer
	var cs [2]stream.Consumer
	for i := range bufs {
		bd := newBinder(t, c, env)
		closeBinder(t, bd)
		spec := consumerSpec(a+","+b, "g", nop)
		spec.Logger = slog.New(slog.NewJSONHandler(&bufs[i], &slog.HandlerOptions{Level: slog.LevelInfo}))
		cs[i] = startConsumer(t, bd, spec)
		if i == 0 {
			waitFor(t, 30*time.Second, "the first member's assignment logged", func() bool {
				as, _ := partitionLines(t, &bufs[0])
				return len(as) == 1
			})
		}
	}
	waitFor(t, 30*time.Second, "both members' assignments of one generation logged", func() bool {
		_, ok := latestAssigned(t, bufs[:])
		return ok
	})
	l, _ := latestAssigned(t, bufs[:])
	got := map[string]bool{l[0].Partitions: true, l[1].Partitions: true}
	if !got[a+":0 "+b+":0"] || !got["none"] {
		t.Fatalf("assigned lines: %q and %q; want %q and %q", l[0].Partitions, l[1].Partitions, a+":0 "+b+":0", "none")
	}
	for i := range cs {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := cs[i].Stop(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range bufs {
		_, rs := partitionLines(t, &bufs[i])
		for _, r := range rs {
			if r.Partitions == "" || strings.HasSuffix(r.Partitions, ":") || strings.Contains(r.Partitions, ": ") {
				t.Errorf("member %d revoked line partitions %q: a topic without partitions", i, r.Partitions)
			}
		}
	}
}
