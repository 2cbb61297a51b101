package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestLagOfPartitionWhoseFetcherIsHeld: the handler is stuck on the first
// message of a partition and its fetcher is held by the full queue
// (queue-capacity 1), so no fetch answer brings the end offset of the
// records produced afterwards; the lag reader asks the cluster for it
// (ListOffsets, the fetcher's last answer older than lag-interval plus
// max-wait) and Lag shows them all.
func TestLagOfPartitionWhoseFetcherIsHeld(t *testing.T) {
	t.Parallel()
	const early, late = 10, 40
	c := kafkatest.Start(t)
	b := newBinder(t, c, map[string]any{"lag-interval": "200ms"})
	closeBinder(t, b)
	dest := uniqueTopic(t)
	release := make(chan struct{})
	var once sync.Once
	stuck := make(chan struct{}, 1)
	tr := newTracker()
	spec := consumerSpec(dest, "g-"+dest, func(ctx context.Context, m stream.Envelope) error {
		select {
		case stuck <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
			return stream.ErrNak
		}
		tr.receive(m.Headers[idHeader])
		return nil
	})
	spec.Extension = map[string]any{"queue-capacity": 1}
	p := bindProducer(t, b, dest, 1)
	cons := startConsumer(t, b, spec)
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the consumer stops
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce(ctx, t, p, tr, "first", 1, 1, 0)
	select {
	case <-stuck:
	case <-ctx.Done():
		t.Fatal("the handler never got the first message")
	}
	lr := cons.(stream.LagReporter)
	waitLag := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		var last []stream.PartitionLag
		for {
			lags, err := lr.Lag(ctx)
			if err != nil {
				t.Fatal(err)
			}
			last = lags
			if len(lags) == 1 && lags[0].Lag >= want {
				t.Logf("lag %d (want at least %d)", lags[0].Lag, want)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 5s Lag reports %+v; want at least %d", last, want)
			}
			time.Sleep(50 * time.Millisecond) // polling an in-memory value, bounded by the deadline
		}
	}
	// The fetcher is held putting the second message it fetched into the
	// full queue: what it had not fetched by then only the cluster can
	// tell — at the latest, all of these.
	produce(ctx, t, p, tr, "early", early, 1, 0)
	waitLag(1 + early)
	produce(ctx, t, p, tr, "late", late, 1, 0)
	waitLag(1 + early + late)
	once.Do(func() { close(release) })
	tr.waitAll(t, 20*time.Second)
}
