package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestCommitsAfterBrokerRestart: the broker restarts (keeping its data)
// while a consumer runs, a member of a group or one with fixed assignment
// (auto-rebalance-enabled: false); it handles what is sent after the
// restart and is stopped at once: its final commit lands (committed 10 on
// each partition), and the next consumer of the group gets only what came
// after. The binder's client had connections to the old broker in its
// pool, each of which failed one commit ("unexpected EOF"): the commits
// after the restart, the final one too, all failed, and the committed
// offsets stayed at 5 (fixed assignment: 2456e60; a group member's final
// commit, sent again as the same member and generation: 1edaac6).
func TestCommitsAfterBrokerRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]any
		spec func(dest string, h stream.Handler) stream.ConsumerSpec
	}{
		// heartbeat-interval is Kafka's default, 3s, so that the member is
		// stopped before its heartbeat ends the generation of before the
		// restart.
		{"group", map[string]any{"heartbeat-interval": "3s"}, func(dest string, h stream.Handler) stream.ConsumerSpec {
			return consumerSpec(dest, "g", h)
		}},
		{"fixed", nil, func(dest string, h stream.Handler) stream.ConsumerSpec {
			return fixedSpec(dest, 0, 1, h)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.StartRestartable(t)
			dest := uniqueTopic(t)
			createTopic(t, c, dest, 2, nil)
			b := newBinder(t, c, tc.env)
			closeBinder(t, b)
			got := newFixedGot()
			cons := bindStarted(t, b, tc.spec(dest, got.handler()))
			ids := produceToParts(t, c, dest, "a", []int{0, 1}, 5)
			got.waitTotal(t, 10)
			waitFor(t, 10*time.Second, "offsets 5 committed", func() bool {
				o := committedOrNone(t, c, "g", dest, []int{0, 1})
				return o[0] == 5 && o[1] == 5
			})
			if err := c.Restart(); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, produceToParts(t, c, dest, "b", []int{0, 1}, 5)...)
			got.waitTotal(t, 20)
			stopConsumer(t, cons)
			got.wantIDs(t, ids)
			if o := committedOrNone(t, c, "g", dest, []int{0, 1}); o[0] != 10 || o[1] != 10 {
				t.Errorf("committed %v after the stop, want 10 on each partition (the messages handled after the broker restart would be handled again)", o)
			}

			// The next consumer of the group goes on from there: the first
			// messages it gets are those sent after the stop.
			b2 := newBinder(t, c, tc.env)
			closeBinder(t, b2)
			again := newFixedGot()
			cons2 := bindStarted(t, b2, tc.spec(dest, again.handler()))
			defer stopConsumer(t, cons2)
			after := produceToParts(t, c, dest, "c", []int{0, 1}, 1)
			again.waitTotal(t, 2)
			again.wantIDs(t, after)
		})
	}
}

// committedOrNone returns group's committed offsets of topic's partitions
// parts, asked on connections of its own (a pool's would be to the broker
// before a restart): none when the group has no commits yet (kfake answers
// GROUP_ID_NOT_FOUND then).
func committedOrNone(t *testing.T, c *kafkatest.Cluster, group, topic string, parts []int) map[int]int64 {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := (&kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Transport: tr}).OffsetFetch(ctx,
		&kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = res.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) {
		return map[int]int64{}
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}
