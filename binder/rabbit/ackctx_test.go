package rabbit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// stallAckFlush makes the next writes of held acks of consumer c wait
// (beforeAckFlush) until the returned unstall is called, as a write the
// socket does not take waits until writeBounded fails it (one to two
// heartbeats): stalled is closed when one waits. unstall runs at the
// test's end too.
func stallAckFlush(t *testing.T, c *consumer) (stalled <-chan struct{}, unstall func()) {
	st, release := make(chan struct{}), make(chan struct{})
	var stOnce, relOnce sync.Once
	f := func() {
		stOnce.Do(func() { close(st) })
		<-release
	}
	c.beforeAckFlush.Store(&f)
	unstall = func() {
		relOnce.Do(func() {
			c.beforeAckFlush.Store(nil)
			close(release)
		})
	}
	t.Cleanup(unstall)
	return st, unstall
}

// returnsWithin runs f and reports its error, or fails the test when f
// has not returned within d (f is then left to return when it does).
func returnsWithin(t *testing.T, d time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Errorf("%s did not return within %v of its ctx's end: it waited for the write of the held acks", what, d)
		return nil
	}
}

// TestPauseAckFlushBoundedByCtx: Pause sends the acks held for coalescing
// (the worker between two handler calls holds them) waiting for their
// write no longer than its ctx lasts: the write cannot be cut short
// (amqp091-go's Ack has no context) and goes on, and the acks reach the
// broker once it is done. Before, Pause wrote them itself and returned
// only once the write was done, past its ctx (up to two heartbeats on a
// stalled connection: here a write held by beforeAckFlush).
func TestPauseAckFlushBoundedByCtx(t *testing.T) {
	t.Parallel()
	const n = 40
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := heldBetweenCalls(ctx, t, "coalesce-pause-ctx", n)
	vh, queue, c, co, letGo := h.vh, h.queue, h.c, h.co, h.letGo
	k := h.handled
	stalled, unstall := stallAckFlush(t, co)
	pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer pcancel()
	err := returnsWithin(t, 3*time.Second, "Pause", func() error { return c.Pause(pctx) })
	if err == nil || !strings.Contains(err.Error(), "still being sent") {
		t.Errorf("Pause = %v, want its ctx's end while the held acks are being sent", err)
	}
	select {
	case <-stalled:
	default:
		t.Error("Pause did not send the held acks")
	}
	unstall()
	// The write goes on: the broker gets the k handled, not the rest.
	got := n - unacked(t, vh, queue)
	for deadline := time.Now().Add(5 * time.Second); got != k && time.Now().Before(deadline); got = n - unacked(t, vh, queue) {
		time.Sleep(20 * time.Millisecond)
	}
	if got != k {
		t.Errorf("%d acked after the write went on, want the %d handled", got, k)
	}
	letGo()
}

// TestStopAckFlushNotPastCtx: a Stop that runs out of time on a handler
// call has the acks held for coalescing sent without waiting for their
// write past its ctx, which has ended; they reach the broker once the
// write is done. Before, it wrote them itself when their lock was free,
// and returned only once the write was done (up to two heartbeats on a
// stalled connection: here a write held by beforeAckFlush).
func TestStopAckFlushNotPastCtx(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 40
	h := newHeldAcks(t, ctx, "coalesce-stop-ctx", n)
	g, held := h.hold()
	stalled, unstall := stallAckFlush(t, h.c.(*consumer))
	sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer scancel()
	err := returnsWithin(t, 3*time.Second, "Stop", func() error { return h.c.Stop(sctx) })
	if err == nil || !strings.Contains(err.Error(), "handlers still running") {
		t.Errorf("Stop = %v, want it to run out of time on the handler", err)
	}
	select {
	case <-stalled:
	case <-time.After(5 * time.Second):
		t.Error("the held acks were not sent after Stop ran out of time")
	}
	unstall()
	h.expectAckedThenStop(ctx, g, held)
}

// TestStopTimedOutThenCloseSendsHeldAcks: a Stop that runs out of time
// leaves the write of the held acks to a goroutine; the binder's Close
// right after it (a shutdown whose ctx has ended) does not close the
// connection before that write is done (bounded by flightsWait), so the
// messages handled before the stuck handler are not redelivered. Since
// d7bf59d the Close raced the goroutine: with the write held (here by
// beforeAckFlush) until the connection was closed, the acks failed and
// the broker redelivered those messages.
func TestStopTimedOutThenCloseSendsHeldAcks(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 40
	h := newHeldAcks(t, ctx, "coalesce-stop-close", n)
	g, held := h.hold()
	handled := g.id // messages 0..g.id-1; g's handler is stuck
	waiting := make(chan struct{})
	var waitOnce sync.Once
	acks := &h.b.sub.acks
	acks.mu.Lock()
	acks.waiting = func() { waitOnce.Do(func() { close(waiting) }) }
	acks.mu.Unlock()
	conn, _, err := h.b.sub.current()
	if err != nil {
		t.Fatal(err)
	}
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	stalled, unstall := stallAckFlush(t, h.c.(*consumer))
	sctx, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer scancel()
	if err := h.c.Stop(sctx); err == nil {
		t.Fatal("Stop = nil, want it to run out of time on the handler")
	}
	select {
	case <-stalled:
	case <-ctx.Done():
		t.Fatal("the held acks were not sent after Stop ran out of time")
	}
	ended, end := context.WithCancel(ctx)
	end()
	_ = h.b.Close(ended) // returns at once; the connection's end goes on
	select {
	case <-waiting: // the end waits for the write
	case <-connClosed: // it did not: the write fails
	case <-ctx.Done():
		t.Fatal("the consumer connection neither waited for the acks nor closed")
	}
	unstall()
	select {
	case <-h.b.sub.done:
	case <-ctx.Done():
		t.Fatal("the consumer connection did not close")
	}
	// Every delivery the closed connection held is back in the queue but
	// the handled ones, whose acks (held ones too) reached the broker.
	for unacked(t, h.vh, h.queue) > 0 {
		if ctx.Err() != nil {
			t.Fatal("deliveries of the closed connection still unacknowledged")
		}
		time.Sleep(20 * time.Millisecond) // the broker requeueing them
	}
	ch := rabbittest.Channel(t, h.vh)
	q, err := ch.QueueDeclarePassive(h.queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != n-handled {
		t.Errorf("%d messages back in the queue, want %d: the %d held acks of handled messages were lost with the connection", q.Messages, n-handled, held)
	}
}
