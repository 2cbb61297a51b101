package rabbit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// earlyHeld is a batch consumer whose first batch of more than one
// message (of the 6 in the queue) has its message 1 fail for good, settled early
// inside the handler call (stream.BatchSettler, as the core does before it
// goes on with the messages after it), while the full DLQ (reject-publish)
// refuses the dead letter.
type earlyHeld struct {
	c          stream.Consumer
	ch         *amqp.Channel
	queue, dlq string
	hs         heldSignal
	logs       *syncbuf.Buffer
	returned   chan struct{} // closed when the settler returned
	mu         sync.Mutex
	settleErr  error
	failed     string   // the failed message's payload
	rest       []string // the payloads after it in its batch
}

func startEarlyHeld(t *testing.T, ctx context.Context) *earlyHeld {
	t.Helper()
	return startEarlyHeldMin(t, ctx, 2)
}

// startEarlyHeldMin is startEarlyHeld with the first batch of at least
// minBatch messages failing.
func startEarlyHeldMin(t *testing.T, ctx context.Context, minBatch int) *earlyHeld {
	t.Helper()
	const total = 6
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost})
	dest := uniqueDest(t, "heldearly")
	e := &earlyHeld{queue: dest + ".g", dlq: dest + ".g.dlq", logs: new(syncbuf.Buffer), returned: make(chan struct{})}
	e.hs = newHeldSignal(e.logs)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "g", ContentType: "text/plain", Logger: slog.New(e.hs),
		Consumer:  stream.ConsumerConfig{BatchMode: true, DLQ: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"batch-size": 3, "dlq-max-length": 1, "dlq-overflow-behavior": "reject-publish"},
		BatchHandler: func(ctx context.Context, ms []stream.Envelope) error {
			e.mu.Lock()
			if e.failed != "" || len(ms) < minBatch {
				e.mu.Unlock()
				return nil
			}
			e.failed = string(ms[1].Payload)
			for _, m := range ms[2:] {
				e.rest = append(e.rest, string(m.Payload))
			}
			e.mu.Unlock()
			settle := stream.BatchSettlerFrom(ctx)
			if settle == nil {
				close(e.returned)
				return errors.New("no BatchSettler")
			}
			// Message 0 handled, message 1 failed for good: settled at
			// once, then the function "goes on" with the messages after it.
			err := settle(2, stream.NewBatchOutcome([]error{nil, stream.Permanent(errors.New("bad m1"))}))
			e.mu.Lock()
			e.settleErr = err
			e.mu.Unlock()
			close(e.returned)
			if errors.Is(err, stream.ErrBatchStop) {
				// As the core does: the function does not go on, the rest
				// is left for redelivery.
				outs := make([]error, len(ms))
				outs[1] = stream.Permanent(errors.New("bad m1"))
				for i := 2; i < len(ms); i++ {
					outs[i] = fmt.Errorf("%w: %w", stream.ErrNak, err)
				}
				return stream.NewBatchOutcome(outs)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	if minBatch > 2 {
		// The first batch takes what waits in the worker's queue: wait
		// (bounded) until enough of the messages do.
		co := c.(*consumer)
		var once sync.Once
		co.beforeEnter = func() {
			once.Do(func() {
				q := co.latest.Load().workers[0]
				deadline := time.Now().Add(10 * time.Second)
				for len(q) < minBatch-1 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond) // polling, bounded
				}
			})
		}
	}
	// Start declares the queue and its DLQ; stopped again, so that the
	// messages wait in the queue for batches of more than one.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e.ch = rabbittest.Channel(t, vhost)
	fillDLQ(t, ctx, e.ch, e.dlq)
	for i := range total {
		if err := e.ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte(fmt.Sprintf("m%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, e.ch, e.queue, total)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	select {
	case <-e.hs.held:
	case <-ctx.Done():
		t.Fatalf("no WARN that the dead letter is held:\n%s", e.logs.String())
	}
	return e
}

func (e *earlyHeld) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settleErr
}

// TestEarlyDeadLetterHeldPause: while a batch message's dead letter,
// settled early inside the handler call, is held (the DLQ refuses it),
// Pause returns, as with a hold after the call; and once the DLQ takes
// the dead letter, the function does not go on with the messages after it
// while the binding is paused, only after Resume. Before (16352f2), the
// hold's bracket (holdBegin/holdEnd) let Pause return and then the call
// go on, on a paused binding.
func TestEarlyDeadLetterHeldPause(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := startEarlyHeld(t, ctx)
	e.pauseThenTaken(t, ctx) // the dead letter went, while paused
	select {
	case <-e.returned:
		t.Fatal("the batch function went on with the messages after the dead-lettered one while the binding was paused")
	case <-time.After(500 * time.Millisecond): // watching for what must not come
	}
	if err := e.c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.returned:
	case <-ctx.Done():
		t.Fatal("the batch function did not go on after Resume")
	}
	if err := e.err(); err != nil {
		t.Errorf("BatchSettler: %v", err)
	}
}

// TestEarlyDeadLetterHeldStop: Stop while a batch message's dead letter,
// settled early inside the handler call, is held returns within its ctx
// and hands the message back (requeued, not dead-lettered): the settler
// says it was not settled, the DLQ has only its filler, and the message
// is in the queue again.
func TestEarlyDeadLetterHeldStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := startEarlyHeld(t, ctx)
	e.stop(t, ctx, "Stop while a dead letter is held inside a batch call")
	if err := e.err(); err == nil {
		t.Errorf("BatchSettler returned nil after Stop cut the dead letter's hold short; want an error (not settled)")
	}
	st, err := e.ch.QueueDeclarePassive(e.dlq, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 1 {
		t.Errorf("DLQ has %d messages, want 1 (its filler only)", st.Messages)
	}
	// The failed message is in the queue again (with any delivered after
	// its batch and not handled), and nothing was lost: those handled
	// were acked, the rest handed back.
	e.mu.Lock()
	failed := e.failed
	e.mu.Unlock()
	found := e.getUntil(t, func(body string) bool { return body == failed })
	if !found {
		t.Errorf("the failed message %s, held for its dead letter when Stop came, is not in the queue again", failed)
	}
}

// TestEarlyDeadLetterHeldPauseStop: Pause while a batch message's dead
// letter, settled early inside the handler call, is held; the DLQ takes
// it (sent, while paused); then Stop. The settler, waiting for a Resume
// that does not come, reports stream.ErrBatchStop (not an error saying the
// sent dead letter was requeued), so that the core does not call the
// function on the messages after it on a stopping binding; those are
// handed back and delivered again.
func TestEarlyDeadLetterHeldPauseStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := startEarlyHeldMin(t, ctx, 3) // a message after the failed one
	e.pauseThenTaken(t, ctx)          // the dead letter went, while paused
	e.stop(t, ctx, "Stop")
	if err := e.err(); !errors.Is(err, stream.ErrBatchStop) {
		t.Fatalf("BatchSettler after Pause, the dead letter sent, Stop: %v, want stream.ErrBatchStop (the function must not go on)", err)
	}
	e.mu.Lock()
	rest := append([]string(nil), e.rest...)
	e.mu.Unlock()
	if len(rest) == 0 {
		t.Fatal("the batch had no message after the failed one")
	}
	// The messages after the failed one come again (requeued).
	want := map[string]bool{}
	for _, p := range rest {
		want[p] = true
	}
	e.getUntil(t, func(body string) bool {
		delete(want, body)
		return len(want) == 0
	})
	if len(want) > 0 {
		t.Errorf("messages after the failed one not delivered again: %v", want)
	}
}

// pauseThenTaken pauses the binding while the dead letter is held, then
// lets the DLQ take it (its filler purged) and waits until it is there.
func (e *earlyHeld) pauseThenTaken(t *testing.T, ctx context.Context) {
	t.Helper()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	err := e.c.Pause(pctx)
	pcancel()
	if err != nil {
		t.Fatalf("Pause while a dead letter is held inside a batch call: %v", err)
	}
	if _, err := e.ch.QueuePurge(e.dlq, false); err != nil {
		t.Fatal(err)
	}
	waitReady(t, e.ch, e.dlq, 1)
}

// stop stops the binding (failing as what on an error) and checks that
// the batch call ended before Stop returned.
func (e *earlyHeld) stop(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	err := e.c.Stop(sctx)
	scancel()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	select {
	case <-e.returned:
	default:
		t.Fatal("Stop returned before the batch call ended")
	}
}

// getUntil takes the messages of the queue (auto-ack) and gives each body
// to done, until done reports true or 10s passed; it returns whether done
// reported true.
func (e *earlyHeld) getUntil(t *testing.T, done func(body string) bool) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m, ok, err := e.ch.Get(e.queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			time.Sleep(20 * time.Millisecond) // a requeue on its way: polling, bounded
			continue
		}
		if done(string(m.Body)) {
			return true
		}
	}
	return false
}
