package rabbit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// brokerCancel makes the broker send basic.cancel to every consumer of
// queue in vhost on its channel, which stays open, and returns how many
// it cancelled. RabbitMQ 3.10 has no command that cancels one consumer:
// its channel sends basic.cancel (rabbit_channel:cancel_consumer) when
// the queue is deleted, when the queue's process went down and consuming
// again fails, or on a mirrored queue's failover with
// x-cancel-on-ha-failover, and in each the deliveries it holds are gone
// or requeued by the queue itself. So this asks the channel process to
// send the frame (rabbit_channel:send_command), for the channels the
// queue names as its consumers, and the queue keeps the channel's
// unacknowledged deliveries, whose tags stay valid on the open channel:
// what any cancel that leaves the deliveries as they are looks like to
// the client.
func brokerCancel(t *testing.T, vhost, queue string) int {
	t.Helper()
	expr := fmt.Sprintf(`{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<%q>>, queue, <<%q>>)),
Cs = rabbit_amqqueue:consumers(Q),
[rabbit_channel:send_command(element(1, C), {'basic.cancel', element(2, C), true}) || C <- Cs],
length(Cs).`, vhost, queue)
	out := strings.TrimSpace(rabbittest.Ctl(t, "eval", expr))
	n, err := strconv.Atoi(out[strings.LastIndexAny(out, "\n ")+1:])
	if err != nil {
		t.Fatalf("rabbitmqctl eval: %q", out)
	}
	return n
}

// heldAcks is a consumer with coalesced acks (one worker) of queue
// "<dest>.g", pre-filled with n messages (x-id 0..n-1), whose handler
// stops at gates: message 0 until every delivery is in the worker's
// queue (so that acks are held: deliveries wait), then each even message
// while gating, where the test looks whether the ack of the message
// before it is held (a gate's own ack is sent at once: its handler took
// 1 ms or more).
type heldAcks struct {
	t      *testing.T
	ctx    context.Context
	vh     string
	queue  string
	n      int
	b      *Binder
	c      stream.Consumer
	r      *run
	gating atomic.Bool
	gates  chan heldGate
	seen   chan struct{} // closed when every message was handled

	mu    sync.Mutex
	calls map[int]int
}

type heldGate struct {
	id      int
	release chan struct{}
}

func newHeldAcks(t *testing.T, ctx context.Context, dest string, n int) *heldAcks {
	t.Helper()
	h := &heldAcks{t: t, ctx: ctx, vh: rabbittest.VHost(t), queue: dest + ".g", n: n,
		gates: make(chan heldGate), seen: make(chan struct{}), calls: map[int]int{}}
	h.gating.Store(true)
	fillQueue(t, h.vh, dest, n)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": h.vh})
	h.b = b
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "c-in-0", Destination: dest, Group: "g",
		ContentType: "text/plain", Handler: h.handle})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.gating.Store(false)
		_ = c.Stop(context.Background())
	})
	h.r = c.(*consumer).latest.Load()
	return h
}

func (h *heldAcks) handle(_ context.Context, m stream.Envelope) error {
	id, _ := strconv.Atoi(m.Headers["x-id"])
	h.mu.Lock()
	h.calls[id]++
	first := h.calls[id] == 1
	if first && len(h.calls) == h.n {
		close(h.seen)
	}
	h.mu.Unlock()
	if first && id%2 == 0 && h.gating.Load() {
		g := heldGate{id, make(chan struct{})}
		select {
		case h.gates <- g:
		case <-h.ctx.Done():
		}
		select {
		case <-g.release:
		case <-h.ctx.Done():
		}
	}
	return nil
}

func (h *heldAcks) next() heldGate {
	h.t.Helper()
	select {
	case g := <-h.gates:
		return g
	case <-h.ctx.Done():
		h.t.Fatal("no gate reached in time")
	}
	panic("unreachable")
}

// hold returns a gate whose handler runs while the acks of messages
// before it are held, and how many are held. At a gate, messages
// 0..id-1 were handled and id's handler runs: the ack of id-1 is held
// unless it was sent because 1 ms passed before id's handler began (a
// stalled goroutine); then it tries the next gate.
func (h *heldAcks) hold() (heldGate, int) {
	t := h.t
	t.Helper()
	g := h.next()
	if g.id != 0 {
		t.Fatalf("first gate %d", g.id)
	}
	for len(h.r.workers[0]) < h.n-1 {
		if h.ctx.Err() != nil {
			t.Fatalf("%d of %d deliveries in the worker's queue", len(h.r.workers[0]), h.n-1)
		}
		time.Sleep(time.Millisecond) // the broker pushing the prefetch
	}
	for range 10 {
		close(g.release)
		g = h.next()
		if held := g.id - h.acked(); held > 0 {
			t.Logf("gate %d: %d acks held", g.id, held)
			return g, held
		}
	}
	t.Fatal("no ack held at any of 10 gates")
	panic("unreachable")
}

// acked is how many messages the broker has had acked.
func (h *heldAcks) acked() int { return h.n - unacked(h.t, h.vh, h.queue) }

// count is how often message id was handled.
func (h *heldAcks) count(id int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[id]
}

// TestCoalescedAcksSentOnBrokerCancel: when the broker cancels the
// consumer (basic.cancel) and leaves its channel open, the acks held for
// coalescing are sent on that channel before the binder closes it and
// subscribes again: a message handled before the cancel is not
// redelivered. Only the message whose handler was running meanwhile is
// (its ack would come after the channel was closed). Without the flush
// the held ones were dropped as stale: message 1 handled twice.
func TestCoalescedAcksSentOnBrokerCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 40 // below prefetch: all delivered at once
	h := newHeldAcks(t, ctx, "coalesce-cancel", n)
	g, _ := h.hold()
	old := h.r.session.Load()
	if k := brokerCancel(t, h.vh, h.queue); k != 1 {
		t.Fatalf("broker cancelled %d consumers, want 1", k)
	}
	// The binder closes the channel and subscribes again meanwhile.
	for s := h.r.session.Load(); s == nil || s == old; s = h.r.session.Load() {
		if ctx.Err() != nil {
			t.Fatal("the consumer did not subscribe again in time")
		}
		time.Sleep(time.Millisecond) // the binder re-subscribing
	}
	h.gating.Store(false)
	close(g.release)
	select {
	case <-h.seen:
	case <-ctx.Done():
		t.Fatal("not every message handled in time")
	}
	// The redelivery of gate g's message (requeued in its place: before
	// the last message).
	for h.count(g.id) < 2 && ctx.Err() == nil {
		time.Sleep(time.Millisecond) // its redelivery
	}
	if err := h.c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for id := range n {
		want := 1
		if id == g.id {
			want = 2 // handled while the channel was given up: redelivered
		}
		if k := h.count(id); k != want {
			t.Errorf("message %d handled %d times, want %d", id, k, want)
		}
	}
	conn, err := amqp.Dial(rabbittest.VHostURL(h.vh))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(h.queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != 0 {
		t.Errorf("%d messages left in the queue, want 0", q.Messages)
	}
}

// TestCoalescedAcksSentWhenStopTimesOut: a Stop whose ctx ends while a
// handler still runs sends the acks held for coalescing: the handler may
// never return, and the binder's Close (or the process's end) then
// closes the channel, which redelivered the messages handled before it.
// Without it they stayed unacknowledged until the handler returned.
func TestCoalescedAcksSentWhenStopTimesOut(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 40
	h := newHeldAcks(t, ctx, "coalesce-stop", n)
	g, held := h.hold()
	sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer scancel()
	if err := h.c.Stop(sctx); err == nil || !strings.Contains(err.Error(), "handlers still running") {
		t.Fatalf("Stop = %v, want it to run out of time on the handler", err)
	}
	// The ack went out before Stop returned.
	h.expectAckedThenStop(ctx, g, held)
}

// expectAckedThenStop checks, after a Stop that ran out of time on gate
// g's handler, that the g.id messages handled before it are acked (held
// of them were held for coalescing), polling the broker, which counts
// acks asynchronously, for at most 5s; then it lets the handler go and
// stops the consumer.
func (h *heldAcks) expectAckedThenStop(ctx context.Context, g heldGate, held int) {
	t := h.t
	t.Helper()
	got := h.acked()
	for deadline := time.Now().Add(5 * time.Second); got != g.id && time.Now().Before(deadline); got = h.acked() {
		time.Sleep(20 * time.Millisecond)
	}
	if got != g.id {
		t.Errorf("after Stop ran out of time %d messages acked, want the %d handled (%d were held)", got, g.id, held)
	}
	h.gating.Store(false)
	close(g.release)
	if err := h.c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCoalescedAcksSentOnPauseBetweenCalls: Pause returns with no ack
// held also when it comes between two handler calls: no call active, the
// worker holding the acks of the calls before and about to wait in enter
// for Resume. Without Pause's own flush the acks stayed held until
// Resume (or Stop).
func TestCoalescedAcksSentOnPauseBetweenCalls(t *testing.T) {
	t.Parallel()
	const n = 40
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := heldBetweenCalls(ctx, t, "coalesce-pause-between", n)
	vh, queue, c, r, letGo := h.vh, h.queue, h.c, h.r, h.letGo
	k := h.handled
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	r.ackMu.Lock()
	held := r.pendN
	r.ackMu.Unlock()
	letGo()
	if held > 0 {
		t.Errorf("after Pause %d acks held", held)
	}
	// And the broker has them: the k handled are acked, the rest not.
	want := n - k
	got := unacked(t, vh, queue)
	for deadline := time.Now().Add(5 * time.Second); got != want && time.Now().Before(deadline); got = unacked(t, vh, queue) {
		time.Sleep(20 * time.Millisecond) // the broker settling the ack
	}
	if got != want {
		t.Errorf("after Pause %d messages unacknowledged, want %d (the %d handled acked)", got, want, k)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
}

// betweenCalls is a started consumer of a group "g" queue of n messages
// whose worker stands between two handler calls with the acks of the
// calls before held for coalescing (heldBetweenCalls).
type betweenCalls struct {
	vh, queue string
	c         stream.Consumer
	co        *consumer
	r         *run
	handled   int    // the calls made before the worker stood still
	letGo     func() // lets the worker go on (also at cleanup)
}

// heldBetweenCalls fills destination dest (in a vhost of its own) with n
// messages, below prefetch so that all are delivered at once, starts a
// consumer whose first handler call waits until every other delivery is
// in the worker's queue, and returns once the worker, between two calls
// with acks held, waits for letGo (once). Waits are bounded by ctx.
func heldBetweenCalls(ctx context.Context, t *testing.T, dest string, n int) *betweenCalls {
	t.Helper()
	vh := rabbittest.VHost(t)
	fillQueue(t, vh, dest, n)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vh})
	var handled atomic.Int64
	first := make(chan struct{})
	c, err := tr.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "c-in-0", Destination: dest, Group: "g",
		ContentType: "text/plain",
		Handler: func(context.Context, stream.Envelope) error {
			if handled.Add(1) == 1 {
				<-first // until every delivery waits in the worker's queue
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	// The worker between two handler calls with acks held: it waits
	// there for the test once.
	between, release := make(chan struct{}), make(chan struct{})
	var stopped atomic.Bool
	co := c.(*consumer)
	co.beforeEnter = func() {
		r := co.latest.Load()
		r.ackMu.Lock()
		held := r.pendN > 0
		r.ackMu.Unlock()
		if held && stopped.CompareAndSwap(false, true) {
			close(between)
			<-release
		}
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	// Run before the Stop above (cleanups run last first): a test that
	// failed before it let the handler or the worker go would else hang
	// in that Stop.
	var firstOnce, releaseOnce sync.Once
	goOn := func() { firstOnce.Do(func() { close(first) }) }
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(func() { goOn(); letGo() })
	r := co.latest.Load()
	for len(r.workers[0]) < n-1 {
		if ctx.Err() != nil {
			t.Fatalf("%d of %d deliveries in the worker's queue", len(r.workers[0]), n-1)
		}
		time.Sleep(time.Millisecond) // the broker pushing the prefetch
	}
	goOn()
	select {
	case <-between:
	case <-ctx.Done():
		t.Fatal("no acks held between calls")
	}
	return &betweenCalls{vh: vh, queue: dest + ".g", c: c, co: co, r: r, handled: int(handled.Load()), letGo: letGo}
}
