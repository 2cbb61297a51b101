package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestReviewFetchLagAfterRecreate: a topic deleted and created again
// under a live generation (its positions reset to the new log, a WARN per
// partition) and read to its end has no lag: the end offset follows the
// fetch answers' high-water mark down to the new log. It was only ever
// raised, so the old log's end stayed and Lag showed the old end less the
// new position (6 here) for as long as the generation lasted.
func TestReviewFetchLagAfterRecreate(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b, logs, changed := recordingBinder(t, c)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	p := bindProducer(t, b, dest, 1)
	tr := newTracker()
	cons := startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
	ctx := context.Background()
	produce(ctx, t, p, tr, "a", 10, 1, 0)
	tr.waitAll(t, recreateTimeout)

	recreate(t, c, dest, 1)
	produce(ctx, t, p, tr, "b", 4, 1, 0) // below the old position
	tr.waitAll(t, recreateTimeout)
	waitResets(t, logs, changed, dest, 1)

	lr := cons.(stream.LagReporter)
	deadline := time.Now().Add(5 * time.Second) // two lag-intervals and more
	var last []stream.PartitionLag
	for time.Now().Before(deadline) {
		last, _ = lr.Lag(ctx)
		if len(last) == 1 && last[0].Lag == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond) // polls an in-memory value
	}
	t.Errorf("the new log read to its end, Lag still %+v after 5s; want 0", last)
}
