package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestLagOfStuckPartition (issue 8, case 5): the handler is stuck on the
// first message of partition 0 with n more behind it; Lag reports about n
// for partition 0 (and 0 for partition 1, which flows) within a few
// seconds, although nothing more is handled on partition 0.
func TestLagOfStuckPartition(t *testing.T) {
	t.Parallel()
	const n = 50
	c := kafkatest.Start(t)
	b := newBinder(t, c, map[string]any{"lag-interval": "200ms"})
	closeBinder(t, b)
	dest := uniqueTopic(t)
	release := make(chan struct{})
	var once sync.Once
	stuck := make(chan struct{}, 1)
	tr := newTracker()
	spec := consumerSpec(dest, "g", func(ctx context.Context, m stream.Envelope) error {
		if m.Headers[stream.HeaderPartition] == "0" {
			select {
			case stuck <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-ctx.Done():
				return stream.ErrNak
			}
		}
		tr.receive(m.Headers[idHeader])
		return nil
	})
	spec.Consumer.Concurrency = 2
	p := bindProducer(t, b, dest, 2)
	cons := startConsumer(t, b, spec)
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the consumer stops
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	produce(ctx, t, p, tr, "m", 2*(n+1), 2, 0) // n+1 to each partition
	select {
	case <-stuck:
	case <-ctx.Done():
		t.Fatal("the handler never got a message of partition 0")
	}
	lr := cons.(stream.LagReporter)
	deadline := time.Now().Add(5 * time.Second)
	var last []stream.PartitionLag
	for {
		lags, err := lr.Lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = lags
		got := map[int]int64{}
		for _, l := range lags {
			got[l.Partition] = l.Lag
		}
		l0, ok0 := got[0]
		l1, ok1 := got[1]
		if ok0 && ok1 && l0 >= n-1 && l1 == 0 {
			t.Logf("lag of the stuck partition: %d (n=%d); of the flowing one: %d", l0, n, l1)
			if l0 > n+1 {
				t.Errorf("lag %d of partition 0 is more than the %d messages it holds", l0, n+1)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5s Lag reports %+v; want partition 0 >= %d and partition 1 = 0", last, n-1)
		}
		time.Sleep(50 * time.Millisecond) // polling an in-memory value, bounded by the deadline
	}
	once.Do(func() { close(release) })
	tr.waitAll(t, 20*time.Second)
}
