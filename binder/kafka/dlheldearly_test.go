package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// earlyHeld is a batch consumer (concurrency 1) of a 2-partition topic
// whose first batch of partition 0 has its message 1 fail for good,
// settled early inside the handler call (stream.BatchSettler, as the core
// does before it goes on with the messages after it), while the broker
// refuses the dead letter for now (not enough replicas).
type earlyHeld struct {
	c        *kafkatest.Cluster
	b        stream.Binder
	src, dlq string
	ref      *produceRefusal
	cons     stream.Consumer
	returned chan struct{} // closed when the settler returned
	others   chan string   // ids of the messages of later calls
	settleMu sync.Mutex
	settleEr error
	small    atomic.Bool // the first batch of partition 0 had one message
}

func startEarlyHeld(t *testing.T) *earlyHeld {
	t.Helper()
	e := &earlyHeld{returned: make(chan struct{}), others: make(chan string, 16)}
	e.c = kafkatest.Start(t)
	e.b = newBinder(t, e.c, nil)
	closeBinder(t, e.b)
	e.src = uniqueTopic(t)
	e.dlq = stream.DLQName(e.src, "g")
	createTopic(t, e.c, e.src, 2, nil)
	createTopic(t, e.c, e.dlq, 1, nil)
	e.ref = refuseProduceTo(e.c, e.dlq, kerr.NotEnoughReplicas, -1)
	t.Cleanup(e.ref.stop)
	produceOneBatch(t, e.c, e.src, "a", 0, 3) // before the consumer starts: one record batch, one fetch
	var once sync.Once
	spec := consumerSpec(e.src, "g", nil)
	spec.Handler = nil
	spec.Consumer.BatchMode = true
	spec.Consumer.DLQ = true
	spec.Extension = map[string]any{"dlq-producer-properties": map[string]any{"send-attempts": 1}}
	spec.BatchHandler = func(ctx context.Context, ms []stream.Envelope) error {
		first := false
		if ms[0].Headers[idHeader] == "a-p0-0" {
			once.Do(func() { first = true })
		}
		if !first {
			for _, m := range ms {
				e.others <- m.Headers[idHeader]
			}
			return nil
		}
		if len(ms) < 3 {
			e.small.Store(true)
			e.ref.stop()
			close(e.returned)
			return nil
		}
		settle := stream.BatchSettlerFrom(ctx)
		if settle == nil {
			close(e.returned)
			return errors.New("no BatchSettler")
		}
		// Message 0 handled, message 1 failed for good: settled at once,
		// then the function "goes on" with the messages after it.
		err := settle(2, stream.NewBatchOutcome([]error{nil, stream.Permanent(errors.New("bad a-p0-1"))}))
		e.settleMu.Lock()
		e.settleEr = err
		e.settleMu.Unlock()
		close(e.returned)
		if errors.Is(err, stream.ErrBatchStop) {
			// As the core does: the function does not go on, the rest is
			// left for redelivery.
			outs := make([]error, len(ms))
			outs[1] = stream.Permanent(errors.New("bad a-p0-1"))
			for i := 2; i < len(ms); i++ {
				outs[i] = fmt.Errorf("%w: %w", stream.ErrNak, err)
			}
			return stream.NewBatchOutcome(outs)
		}
		return nil
	}
	e.cons = startConsumer(t, e.b, spec)
	return e
}

// held waits until the dead letter was refused twice (held).
func (e *earlyHeld) held(t *testing.T, ctx context.Context) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for e.ref.hits.Load() < 2 {
		select {
		case <-e.returned:
			if e.small.Load() {
				t.Fatal("the first batch of partition 0 had fewer than its 3 messages, produced as one record batch")
			}
			t.Fatalf("the settler returned before the dead letter was refused twice (refused %d): not dead-lettered inside the call", e.ref.hits.Load())
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the dead letter was not refused twice (refused %d)", e.ref.hits.Load())
		}
	}
}

// TestEarlyDeadLetterHeldPause: a batch message that failed for good is
// dead-lettered inside the handler call (stream.BatchSettler); while its
// dead letter is held (the broker refuses it for now), the call gives up
// its concurrency slot and its count in flight, as a hold after the call
// does: another partition's messages are handled meanwhile (concurrency
// 1) and Pause returns. Once the dead letter is written, the function does
// not go on while the binding is paused, only after Resume. Before
// (16352f2), the call kept both: the other partition stalled and Pause
// blocked for the DLQ outage.
func TestEarlyDeadLetterHeldPause(t *testing.T) {
	t.Parallel()
	e, ctx := startHeld(t)
	produceToParts(t, e.c, e.src, "b", []int{1}, 1)
	select {
	case id := <-e.others:
		if id != "b-p1-0" {
			t.Fatalf("handled %s, want b-p1-0", id)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("partition 1's message was not handled within 15s while partition 0's batch held a dead letter inside its call (concurrency 1): the call kept its slot")
	}
	e.pauseThenWritten(t, ctx) // the dead letter is written while paused
	select {
	case <-e.returned:
		t.Fatal("the batch function went on with the messages after the dead-lettered one while the binding was paused")
	case <-time.After(500 * time.Millisecond): // watching for what must not come
	}
	if err := e.cons.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.returned:
	case <-ctx.Done():
		t.Fatal("the batch function did not go on after Resume")
	}
	if err := e.settleErr(); err != nil {
		t.Errorf("BatchSettler: %v", err)
	}
	// a-p0-0 and a-p0-1 settled early, a-p0-2 with the call.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for uncommitted(t, e.c, e.src, "g") > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%d records uncommitted once the batch ended; want 0", uncommitted(t, e.c, e.src, "g"))
		}
	}
}

// TestEarlyDeadLetterHeldStop: Stop while a batch message's dead letter
// is held inside the handler call returns once its ctx ended (as with a
// hold after the call) and hands the message back: no dead letter written, nothing committed past it (nor
// the message settled with it), so another consumer of the group gets it
// again.
func TestEarlyDeadLetterHeldStop(t *testing.T) {
	t.Parallel()
	e, ctx := startHeld(t)
	// As for a hold after the call, Stop waits for the hold until its ctx
	// ends, then cuts it short (the handlers' context), and says so.
	err := e.stop(ctx, 2*time.Second)
	t.Logf("Stop: %v", err)
	e.settlerReturned(t, ctx)
	if err := e.settleErr(); err == nil {
		t.Errorf("BatchSettler returned nil after Stop cut the dead letter's hold short; want an error (not settled)")
	}
	e.ref.stop()
	if n := endOffset(t, e.c, e.dlq, 0); n != 0 {
		t.Errorf("%d dead letters written; want 0 (the hold was cut short by Stop)", n)
	}
	if n := uncommitted(t, e.c, e.src, "g"); n != 3 {
		t.Errorf("%d records of partition 0's batch of 3 uncommitted after Stop; want 3 (nothing committed past the held one or with it)", n)
	}
}

// produceOneBatch produces n records to partition part of topic as one
// record batch (buffered, then flushed at once), so that the consumer's
// first fetch of them returns all n: ids prefix-p<part>-<i>.
func produceOneBatch(t *testing.T, c *kafkatest.Cluster, topic, prefix string, part, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ManualFlushing())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for i := range n {
		id := fmt.Sprintf("%s-p%d-%d", prefix, part, i)
		cl.Produce(ctx, &kgo.Record{Partition: int32(part), Value: []byte(id), Headers: []kgo.RecordHeader{{Key: idHeader, Value: []byte(id)}}},
			func(_ *kgo.Record, err error) { errs <- err })
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestEarlyDeadLetterHeldPauseStop: Pause while a batch message's dead
// letter is held inside the handler call; the broker takes it (written,
// while paused); then Stop. The settler, waiting for a Resume that does
// not come, reports stream.ErrBatchStop, so that the core does not call
// the function on the message after it on a stopping binding; that one
// is not committed past and comes again to the group. Before, the settler
// returned nil (the core went on, the function ran uncommitted).
func TestEarlyDeadLetterHeldPauseStop(t *testing.T) {
	t.Parallel()
	e, ctx := startHeld(t)
	e.pauseThenWritten(t, ctx)
	if err := e.stop(ctx, 10*time.Second); err != nil {
		t.Logf("Stop: %v", err)
	}
	e.settlerReturned(t, ctx)
	if err := e.settleErr(); !errors.Is(err, stream.ErrBatchStop) {
		t.Fatalf("BatchSettler after Pause, the dead letter written, Stop: %v, want stream.ErrBatchStop (the function must not go on)", err)
	}
	// a-p0-2, after the dead-lettered one, comes again: not committed past.
	if n := uncommitted(t, e.c, e.src, "g"); n != 1 {
		t.Errorf("%d records of partition 0's batch of 3 uncommitted after Stop; want 1 (the one after the dead-lettered one)", n)
	}
	select {
	case id := <-e.others:
		t.Errorf("the function was called on %s after Stop", id)
	default:
	}
}

// settleErr is what the settler returned.
func (e *earlyHeld) settleErr() error {
	e.settleMu.Lock()
	defer e.settleMu.Unlock()
	return e.settleEr
}

// pauseThenWritten pauses the binding while the dead letter is held, then
// lets the broker take it and waits until it is written.
func (e *earlyHeld) pauseThenWritten(t *testing.T, ctx context.Context) {
	t.Helper()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	err := e.cons.Pause(pctx)
	pcancel()
	if err != nil {
		t.Fatalf("Pause while a dead letter is held inside a batch call: %v", err)
	}
	e.ref.stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for endOffset(t, e.c, e.dlq, 0) < 1 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the dead letter was not written once the broker took it")
		}
	}
}

// stop stops the binding, giving Stop d.
func (e *earlyHeld) stop(ctx context.Context, d time.Duration) error {
	sctx, scancel := context.WithTimeout(ctx, d)
	defer scancel()
	return e.cons.Stop(sctx)
}

// settlerReturned waits until the settler returned after Stop.
func (e *earlyHeld) settlerReturned(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-e.returned:
	case <-ctx.Done():
		t.Fatal("the settler did not return after Stop")
	}
}

// startHeld starts an earlyHeld and waits until its dead letter is held;
// the ctx it returns ends after 60s or with the test.
func startHeld(t *testing.T) (*earlyHeld, context.Context) {
	t.Helper()
	e := startEarlyHeld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e.held(t, ctx)
	return e, ctx
}
