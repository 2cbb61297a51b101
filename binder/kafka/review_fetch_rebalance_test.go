package kafka_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestReviewFetchRebalanceCutsLongFetch: with max-wait 5s every idle
// fetch is a long wait; a member joining the group is given partitions,
// and reads them, without the first member's generation waiting for its
// fetches in progress (the generation's end closes their connections).
func TestReviewFetchRebalanceCutsLongFetch(t *testing.T) {
	t.Parallel()
	const parts = 4
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, parts)
	tr := newTracker()
	got := make(chan int, 64)
	mk := func(who int) stream.ConsumerSpec {
		spec := consumerSpec(dest, "g-"+dest, func(ctx context.Context, m stream.Envelope) error {
			got <- who
			return tr.handler()(ctx, m)
		})
		spec.Consumer.Concurrency = parts
		spec.Extension = map[string]any{"max-wait": "5s"}
		return spec
	}
	startConsumer(t, b, mk(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	produce(ctx, t, p, tr, "a", parts, parts, 0)
	tr.waitAll(t, 20*time.Second)
	for len(got) > 0 {
		<-got
	}
	time.Sleep(time.Second) // the first member's fetches are in flight, 4s to go
	start := time.Now()
	startConsumer(t, b, mk(2))
	// Records to every partition until the second member handles one.
	for i := 0; ; i++ {
		produce(ctx, t, p, tr, "b"+strconv.Itoa(i), parts, parts, 0)
		deadline := time.After(200 * time.Millisecond)
	drain:
		for {
			select {
			case who := <-got:
				if who == 2 {
					took := time.Since(start)
					t.Logf("the second member handled a record %s after it started (max-wait 5s)", took.Round(time.Millisecond))
					if took > 4*time.Second {
						t.Errorf("took %s: the rebalance waited for the long fetches", took)
					}
					tr.waitAll(t, 20*time.Second)
					return
				}
			case <-deadline:
				break drain
			case <-ctx.Done():
				t.Fatal("the second member never handled a record")
			}
		}
	}
}
