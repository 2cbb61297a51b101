package kafka_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestReviewFetchRebalanceCutsLongFetch: with max-wait 12s every idle
// fetch is a long wait; a member joining the group is given partitions,
// and reads them, without the first member's generation waiting for its
// fetches in progress (the generation's end closes their connections).
//
// Nothing is sent until the second member has partitions: a record ends
// the fetches of its partition at once, and so ended the wait this test
// is about whether the connections were closed or not (it passed with
// them left open, when it sent records from the start). The assignment
// takes about a heartbeat interval (1s); a generation that waits for its
// fetches ends 11s after the second member started (or is dropped from
// the group at rebalance-timeout, 10s). The bound lies halfway, far from
// both under load (max-wait was 5s and the bound 4s).
func TestReviewFetchRebalanceCutsLongFetch(t *testing.T) {
	t.Parallel()
	const parts = 4
	const maxWait = 12 * time.Second
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, parts)
	tr := newTracker()
	got := make(chan int, 64)
	logs := &logRecorder{}
	mk := func(who int) stream.ConsumerSpec {
		spec := consumerSpec(dest, "g-"+dest, func(ctx context.Context, m stream.Envelope) error {
			got <- who
			return tr.handler()(ctx, m)
		})
		spec.Consumer.Concurrency = parts
		spec.Extension = map[string]any{"max-wait": maxWait.String()}
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
	time.Sleep(time.Second) // the first member's fetches are in flight, 11s to go
	start := time.Now()
	second := mk(2)
	second.Logger = logs.logger()
	startConsumer(t, b, second)
	const started = "kafka: generation started"
	var assigned time.Time
	for assigned.IsZero() {
		for _, l := range logs.since(slog.LevelDebug, start) {
			if strings.HasPrefix(l.msg, started) && !strings.Contains(l.String(), `partitions="0"`) {
				assigned = l.time
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("the second member was given no partition within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := assigned.Sub(start)
	t.Logf("the second member was given partitions %s after it started (max-wait %s)", took.Round(time.Millisecond), maxWait)
	if took > maxWait/2 {
		t.Errorf("took %s: the rebalance waited for the long fetches", took)
	}
	// Records to every partition until the second member handles one.
	for i := 0; ; i++ {
		produce(ctx, t, p, tr, "b"+strconv.Itoa(i), parts, parts, 0)
		deadline := time.After(200 * time.Millisecond)
	drain:
		for {
			select {
			case who := <-got:
				if who == 2 {
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
