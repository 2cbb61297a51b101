package kafka_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestIdleMemberKeepsGeneration: with more members than partitions (two
// members, one partition) the member that gets none stays in its
// generation, and the group stays stable while the other consumes. Before,
// the idle member's generation ended at once (kafka-go ends a generation
// when one of its functions returns, and the member's had no partition to
// wait on), so it rejoined in a loop: thousands of generations a second,
// each a rebalance that took the partition from the other member too.
func TestIdleMemberKeepsGeneration(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	const heartbeat = 300 * time.Millisecond
	env := map[string]any{"session-timeout": "20s", "heartbeat-interval": heartbeat.String(), "rebalance-timeout": "4s"}
	var handled atomic.Int64
	count := func(context.Context, stream.Envelope) error { handled.Add(1); return nil }
	var bufs [2]syncbuf.Buffer
	for i := range bufs {
		bd := newBinder(t, c, env)
		closeBinder(t, bd)
		spec := consumerSpec(topic, "g", count)
		spec.Logger = slog.New(slog.NewJSONHandler(&bufs[i], &slog.HandlerOptions{Level: slog.LevelInfo}))
		startConsumer(t, bd, spec)
	}
	waitFor(t, 30*time.Second, "both members assigned in one generation", func() bool {
		_, ok := latestAssigned(t, bufs[:])
		return ok
	})
	settled, _ := latestAssigned(t, bufs[:])
	const n = 50
	writeNumbered(t, c, topic, 0, 0, n)
	waitFor(t, 30*time.Second, "the inputs handled", func() bool { return handled.Load() >= n })
	// Absence is observed over a window: several heartbeats, each of
	// which a rejoining member would have turned into a new generation.
	time.Sleep(5 * heartbeat) // the observation window, not a synchronisation
	now, _ := latestAssigned(t, bufs[:])
	var lines [2]int
	for i := range bufs {
		as, _ := partitionLines(t, &bufs[i])
		lines[i] = len(as)
	}
	t.Logf("generation %d when both were assigned, %d after %d inputs and %s; assigned lines %v", settled[0].Generation, now[0].Generation, n, 5*heartbeat, lines)
	if now[0].Generation != settled[0].Generation || now[1].Generation != settled[1].Generation {
		t.Errorf("the group went from generation %d to %d/%d while nothing joined or left (assigned lines per member: %v): the member without a partition rejoins in a loop",
			settled[0].Generation, now[0].Generation, now[1].Generation, lines)
	}
}
