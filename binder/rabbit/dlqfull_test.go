package rabbit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// heldLine is what the WARN of a dead letter held for a full DLQ says.
const heldLine = "the consumer holds the failed message, unacknowledged, until the DLQ takes it"

// heldSignal is a slog handler writing text to a buffer that closes held
// at the first WARN of a failed dead-letter publish (the binder's before
// the hold said "dead-lettering failed; retrying": the test's window runs
// from the same line with or without the hold).
type heldSignal struct {
	slog.Handler
	once, onceRequeued *sync.Once
	held               chan struct{}
	requeued           chan struct{} // closed at the first WARN of a held message requeued
	requeuedAt         *time.Time    // that WARN's record time, set before requeued is closed
}

func newHeldSignal(buf *syncbuf.Buffer) heldSignal {
	return heldSignal{Handler: slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}),
		once: new(sync.Once), onceRequeued: new(sync.Once), held: make(chan struct{}), requeued: make(chan struct{}),
		requeuedAt: new(time.Time)}
}

func (h heldSignal) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r) // written before the signal: the test reads it then
	if r.Level == slog.LevelWarn && strings.Contains(r.Message, "dead-lettering failed") {
		h.once.Do(func() { close(h.held) })
	}
	if r.Level == slog.LevelWarn && strings.Contains(r.Message, "held for its dead letter is requeued") {
		h.onceRequeued.Do(func() { *h.requeuedAt = r.Time; close(h.requeued) })
	}
	return err
}
func (h heldSignal) WithAttrs(as []slog.Attr) slog.Handler {
	h.Handler = h.Handler.WithAttrs(as)
	return h
}
func (h heldSignal) WithGroup(g string) slog.Handler {
	h.Handler = h.Handler.WithGroup(g)
	return h
}

// fillDLQ puts one message into dlq, which holds at most one
// (dlq-max-length 1, reject-publish): the binder's dead letters are nacked.
func fillDLQ(t *testing.T, ctx context.Context, ch *amqp.Channel, dlq string) {
	t.Helper()
	if err := ch.PublishWithContext(ctx, "", dlq, true, false, amqp.Publishing{Body: []byte("filler")}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ch, dlq, 1)
}

// callCounter counts handler calls by payload, signalling each on calls.
type callCounter struct {
	mu    sync.Mutex
	by    map[string]int
	total int
	calls chan struct{}
}

func newCallCounter() *callCounter {
	return &callCounter{by: map[string]int{}, calls: make(chan struct{}, 1024)}
}

func (c *callCounter) add(p string) {
	c.mu.Lock()
	c.by[p]++
	c.total++
	c.mu.Unlock()
	c.calls <- struct{}{}
}

func (c *callCounter) snapshot() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.by))
	for k, v := range c.by {
		m[k] = v
	}
	return m, c.total
}

// noMoreCalls fails t when the handler is called more than want times in
// all within d (the window in which a requeued message would have been
// handled again).
func noMoreCalls(t *testing.T, cc *callCounter, want int, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if by, n := cc.snapshot(); n > want {
			t.Fatalf("%d handler calls (%v); want %d: the message held for its dead letter was handled again", n, by, want)
		}
		select {
		case <-cc.calls:
		case <-deadline.C:
			return
		}
	}
}

// fullDLQ is a started consumer of the tests below on a vhost of its own,
// group g of dest, whose DLQ (dlq-max-length 1, reject-publish) is full:
// its handler fails every message and counts it on cc; hs signals the
// WARN of a held dead letter in logs; ch is a channel on the vhost.
type fullDLQ struct {
	ctx         context.Context // the test's deadline (60s), cancelled at its end
	c           stream.Consumer
	ch          *amqp.Channel
	vhost, dest string
	queue, dlq  string
	logs        *syncbuf.Buffer
	hs          heldSignal
	cc          *callCounter
}

// startFullDLQConsumer binds and starts a consumer of a dest made from
// name under binding, pipelined (an AsyncHandler, checked) if async, and
// fills its DLQ.
func startFullDLQConsumer(t *testing.T, name, binding string, async bool) *fullDLQ {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	f := &fullDLQ{ctx: ctx, vhost: rabbittest.VHost(t), logs: new(syncbuf.Buffer), cc: newCallCounter()}
	_, tr := newTestBinder(t, map[string]any{"virtual-host": f.vhost})
	f.dest = uniqueDest(t, name)
	f.queue, f.dlq = f.dest+".g", f.dest+".g.dlq"
	f.hs = newHeldSignal(f.logs)
	spec := stream.ConsumerSpec{Binding: binding, Destination: f.dest, Group: "g",
		Consumer:  stream.ConsumerConfig{DLQ: true},
		Extension: map[string]any{"dlq-max-length": 1, "dlq-overflow-behavior": "reject-publish"},
		Logger:    slog.New(f.hs),
		Handler: func(_ context.Context, m stream.Envelope) error {
			f.cc.add(string(m.Payload))
			return errors.New("payment refused")
		}}
	if async {
		spec.AsyncHandler = func(_ context.Context, m stream.Envelope, done func(error)) {
			f.cc.add(string(m.Payload))
			done(errors.New("payment refused"))
		}
	}
	c, err := tr.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if async {
		if w := c.(stream.PipelineReporter).PipelineWindow(); w < 2 {
			t.Fatalf("pipeline window %d: not pipelined", w)
		}
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.c = c
	f.ch = rabbittest.Channel(t, f.vhost)
	fillDLQ(t, ctx, f.ch, f.dlq)
	return f
}

// publishHeld publishes m0 to dest and waits for the WARN that its dead
// letter is held.
func (f *fullDLQ) publishHeld(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := f.ch.PublishWithContext(ctx, f.dest, "", false, false, amqp.Publishing{Body: []byte("m0")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.hs.held:
	case <-ctx.Done():
		t.Fatalf("no WARN of a held dead letter; logs:\n%s", f.logs.String())
	}
}

// TestDeadLetterDLQFullHeldNotHandledAgain: the DLQ is full (dlq-max-length
// 1, dlq-overflow-behavior reject-publish) and the broker nacks the dead
// letters. The failed message is held, unacknowledged, and only its dead
// letter is published again: the handler, called max-attempts (2) times,
// is not called again for it, and the other messages wait in the queue
// (the worker takes none while it holds one); the binding reports its dead
// letters down. Once the DLQ is drained every dead letter arrives, each
// message handled exactly max-attempts times, and the queue ends empty.
// Before the fix the message was requeued after 3 publish attempts and
// handled again every round (the breaker's 74 calls for 5 messages in
// 15 s).
func TestDeadLetterDLQFullHeldNotHandledAgain(t *testing.T) {
	t.Parallel()
	const n, maxAttempts = 3, 2
	vhost := rabbittest.VHost(t)
	dest := uniqueDest(t, "dlqfull")
	queue, dlq := dest+".g", dest+".g.dlq"
	cc := newCallCounter()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "pay", func(_ context.Context, p string) error {
		cc.add(p)
		return errors.New("payment refused")
	})
	yaml := fmt.Sprintf(`stream:
  function:
    definition: pay
  default-binder: r
  binders:
    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
  bindings:
    pay-in-0:
      destination: %s
      group: g
      content-type: text/plain
      consumer:
        dlq: true
        max-attempts: %d
        back-off-initial-interval: 10ms
  rabbit:
    bindings:
      pay-in-0:
        consumer:
          dlq-max-length: 1
          dlq-overflow-behavior: reject-publish
`, rabbittest.Address(), vhost, dest, maxAttempts)
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	hs := newHeldSignal(&logs)
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(slog.New(hs)))
	if err != nil {
		t.Fatal(err)
	}
	stop := bindertest.RunApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	fillDLQ(t, ctx, ch, dlq)
	for i := range n {
		if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte(fmt.Sprintf("m%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-hs.held:
	case <-ctx.Done():
		t.Fatalf("no WARN of a held dead letter; logs:\n%s", logs.String())
	}
	// The old code requeued after 3 publish attempts (100 + 200 ms) and
	// redelivery-delay (100 ms): ~0.4 s a round, each with max-attempts
	// calls. Three such rounds and more:
	noMoreCalls(t, cc, maxAttempts, 2*time.Second)
	if by, _ := cc.snapshot(); by["m0"] != maxAttempts {
		t.Fatalf("handler calls %v; want m0 handled %d times (the first in the queue)", by, maxAttempts)
	}
	if err := app.Binding("pay-in-0").Health(ctx); err == nil || !strings.Contains(err.Error(), "cannot send dead letters") || !strings.Contains(err.Error(), dlq) {
		t.Errorf("binding health while held: %v; want it down for the dead letters of %s", err, dlq)
	}
	if s := app.Binding("pay-in-0").Stats(); s.DeadLettered != 1 {
		t.Errorf("stats while held: %+v; want 1 dead-lettered", s)
	}
	// The held message is not settled: it counts in flight, its age
	// growing (held since before noMoreCalls' 2s), rather than 0 once its
	// handler returned.
	if s := app.Binding("pay-in-0").Stats(); s.InFlight != 1 || s.OldestInFlight < 2*time.Second {
		t.Errorf("stats while held: in flight %d, oldest %s; want 1, at least 2s", s.InFlight, s.OldestInFlight)
	}
	if q, err := ch.QueueDeclarePassive(dlq, true, false, false, false, nil); err != nil || q.Messages != 1 {
		t.Fatalf("DLQ %s: %+v, %v; want the filler alone", dlq, q, err)
	}

	// Drain the DLQ: every dead letter arrives, after the filler.
	dch := rabbittest.Channel(t, vhost)
	ds, err := dch.Consume(dlq, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < n+1 {
		select {
		case d := <-ds:
			got = append(got, string(d.Body))
		case <-ctx.Done():
			by, _ := cc.snapshot()
			t.Fatalf("DLQ drained: got %q; want the filler and %d dead letters (calls %v)", got, n, by)
		}
	}
	if want := []string{"filler", "m0", "m1", "m2"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("DLQ: %q; want %q", got, want)
	}
	if err := app.Binding("pay-in-0").Health(ctx); err != nil {
		t.Errorf("binding health once the dead letters went: %v", err)
	}
	for s := app.Binding("pay-in-0").Stats(); s.InFlight != 0; s = app.Binding("pay-in-0").Stats() {
		select {
		case <-ctx.Done():
			t.Fatalf("in flight %d once every dead letter went; want 0", s.InFlight)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	by, total := cc.snapshot()
	for i := range n {
		if p := fmt.Sprintf("m%d", i); by[p] != maxAttempts {
			t.Errorf("%s handled %d times; want %d (calls %v)", p, by[p], maxAttempts, by)
		}
	}
	if total != n*maxAttempts {
		t.Errorf("%d handler calls; want %d", total, n*maxAttempts)
	}
	waitReady(t, ch, queue, 0)
	if c := strings.Count(logs.String(), heldLine); c == 0 || c > 3*n {
		t.Errorf("%d WARN lines of held dead letters for %d messages; want 1 to %d (paced)", c, n, 3*n)
	}
	if !strings.Contains(logs.String(), "dead letter sent after it was held") {
		t.Errorf("no INFO that the held dead letter was sent; logs:\n%s", logs.String())
	}
}

// TestDeadLetterDLQFullPauseStop: while a failed message is held for its
// dead letter (DLQ full), Pause returns at once (the hold is no handler
// call), the handler is not called again, and Stop returns within its ctx
// and leaves the message in its queue (requeued, not lost), the DLQ as it
// was.
func TestDeadLetterDLQFullPauseStop(t *testing.T) {
	t.Parallel()
	f := startFullDLQConsumer(t, "dlqfullstop", "full-in-0", false)
	ctx, c, ch, queue, dlq, cc, logs := f.ctx, f.c, f.ch, f.queue, f.dlq, f.cc, f.logs
	f.publishHeld(t, ctx)
	if !strings.Contains(logs.String(), heldLine) {
		t.Errorf("the WARN does not say that the message is held; logs:\n%s", logs.String())
	}
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	err := c.Pause(pctx)
	pcancel()
	if err != nil {
		t.Fatalf("Pause while a dead letter is held: %v", err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	noMoreCalls(t, cc, 1, 2*time.Second)

	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	start := time.Now()
	err = c.Stop(sctx)
	scancel()
	if err != nil {
		t.Fatalf("Stop while a dead letter is held: %v (after %s)", err, time.Since(start).Round(time.Millisecond))
	}
	waitReady(t, ch, queue, 1)
	if q, err := ch.QueueDeclarePassive(dlq, true, false, false, false, nil); err != nil || q.Messages != 1 {
		t.Fatalf("DLQ %s: %+v, %v; want the filler alone", dlq, q, err)
	}
	if _, n := cc.snapshot(); n != 1 {
		t.Errorf("%d handler calls; want 1", n)
	}
	if !strings.Contains(logs.String(), "the failed message held for its dead letter is requeued") {
		t.Errorf("no WARN that the held message was requeued at Stop; logs:\n%s", logs.String())
	}
}

// TestDeadLetterDLQFullPipelinedPause: a pipelined worker (AsyncHandler)
// settles in delivery order, and Pause waits for every delivery it handed
// out: the ones behind a held dead letter cannot be settled before it. So
// a Pause ends the hold: the held message is requeued (a WARN says so,
// before Pause returns: strictly, the delivery counts as active until it
// is nacked) and Pause returns within its ctx; after Resume it is handled
// again, held again, and Stop requeues it: nothing lost.
func TestDeadLetterDLQFullPipelinedPause(t *testing.T) {
	t.Parallel()
	f := startFullDLQConsumer(t, "dlqfullpipe", "fullp-in-0", true)
	ctx, c, ch, queue, dlq, cc, hs, logs := f.ctx, f.c, f.ch, f.queue, f.dlq, f.cc, f.hs, f.logs
	f.publishHeld(t, ctx)
	noMoreCalls(t, cc, 1, 2*time.Second)
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	err := c.Pause(pctx)
	paused := time.Now() // when Pause returned
	pcancel()
	if err != nil {
		t.Fatalf("Pause while a dead letter is held: %v", err)
	}
	// Pause waits for the requeue (the delivery counts as active until
	// settled), so the WARN was logged before it returned: its record's
	// time (taken at the log call) is not after Pause's return. Waited
	// for (bounded) rather than polled once, so that a WARN whose Handle
	// ran late is told apart from one logged after Pause returned.
	select {
	case <-hs.requeued:
		if hs.requeuedAt.After(paused) {
			t.Errorf("the WARN that the held message was requeued was logged %s after Pause returned; logs:\n%s",
				hs.requeuedAt.Sub(paused), logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no WARN that the held message was requeued within 5s of Pause's return; logs:\n%s", logs.String())
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cc.calls:
	case <-ctx.Done():
		t.Fatal("the message requeued at Pause was not handled after Resume")
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	err = c.Stop(sctx)
	scancel()
	if err != nil {
		t.Fatalf("Stop while a dead letter is held: %v", err)
	}
	waitReady(t, ch, queue, 1)
	waitReady(t, ch, dlq, 1)
	if by, n := cc.snapshot(); n != 2 {
		t.Errorf("handler calls %v; want 2 (once before Pause, once after Resume)", by)
	}
}

// TestDeadLetterDLQFullChannelLost: the consumer channel is lost while a
// failed message is held for its dead letter (DLQ full). The hold ends at
// once (a WARN says so): the broker redelivers the message on the new
// channel, where it is handled again (once: the channel's loss, not the
// DLQ, brings it back) and held again. Draining the DLQ then brings its
// one dead letter, and the queue ends empty.
func TestDeadLetterDLQFullChannelLost(t *testing.T) {
	t.Parallel()
	f := startFullDLQConsumer(t, "dlqfulllost", "fulll-in-0", false)
	ctx, c, ch, vhost, queue, dlq, cc, logs := f.ctx, f.c, f.ch, f.vhost, f.queue, f.dlq, f.cc, f.logs
	defer c.Stop(context.Background())
	f.publishHeld(t, ctx)
	if err := c.(*consumer).latest.Load().session.Load().ch.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		if _, n := cc.snapshot(); n >= 2 {
			break
		}
		select {
		case <-cc.calls:
		case <-ctx.Done():
			t.Fatalf("the held message was not redelivered after its channel was lost; logs:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "the consumer channel was lost while the failed message was held for its dead letter") {
		t.Errorf("no WARN that the hold ended with the channel; logs:\n%s", logs.String())
	}
	noMoreCalls(t, cc, 2, 2*time.Second)

	dch := rabbittest.Channel(t, vhost)
	ds, err := dch.Consume(dlq, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		select {
		case d := <-ds:
			got = append(got, string(d.Body))
		case <-ctx.Done():
			t.Fatalf("DLQ drained: got %q; want the filler and m0's dead letter", got)
		}
	}
	if strings.Join(got, ",") != "filler,m0" {
		t.Errorf("DLQ: %q; want [filler m0]", got)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	err = c.Stop(sctx)
	scancel()
	if err != nil {
		t.Fatal(err)
	}
	waitReady(t, ch, queue, 0)
	select {
	case d := <-ds:
		t.Errorf("a second dead letter %q: a duplicate", d.Body)
	default:
	}
	if _, n := cc.snapshot(); n != 2 {
		t.Errorf("%d handler calls; want 2", n)
	}
}
