package nats_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/bindertest"
	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// heldWarn is the WARN a held dead letter logs at its first failure.
const heldWarn = "held, unacknowledged, until the dead-letter stream takes it"

// fullDLQ makes the dead-letter stream of dest's group g with room for one
// message, which it already holds, refusing new ones (discard new): every
// dead letter is refused for now. It returns the stream.
func fullDLQ(t *testing.T, js jetstream.JetStream, dest string) jetstream.Stream {
	t.Helper()
	dlq := stream.DLQName(dest, "g")
	ctx := context.Background()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: natsbinder.StreamName(dlq), Subjects: []string{dlq, dlq + ".>"}, MaxMsgs: 1, Discard: jetstream.DiscardNew})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, dlq, []byte("filler")); err != nil {
		t.Fatal(err)
	}
	return s
}

// callCounts counts a handler's calls per message id.
type callCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounts) add(id string) {
	c.mu.Lock()
	c.n[id]++
	c.mu.Unlock()
}

func (c *callCounts) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// heldDLQ is the set-up the held dead-letter tests share: dest (a name
// made from what) and its group g's dead-letter stream dls, full (fullDLQ),
// both removed at the end; a binder b; an always-failing handler h counting
// its calls per message id; a line log ll for the consumer.
type heldDLQ struct {
	dest  string
	js    jetstream.JetStream
	ctx   context.Context
	dls   jetstream.Stream
	b     *natsbinder.Binder
	calls *callCounts
	h     stream.Handler
	ll    *lineLog
}

func setUpHeldDLQ(t *testing.T, what string) *heldDLQ {
	t.Helper()
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	dest := unique(t, what)
	dlq := stream.DLQName(dest, "g")
	s.add(dest)
	s.add(dlq)
	js := jsAt(t, natstest.URL())
	dls := fullDLQ(t, js, dest)

	b := newBinder(t, natstest.URL(), nil)
	closeBinder(t, b)
	calls := &callCounts{n: map[string]int{}}
	h := func(_ context.Context, m stream.Envelope) error {
		calls.add(m.Headers[idHeader])
		return errors.New("always fails")
	}
	return &heldDLQ{dest: dest, js: js, ctx: context.Background(), dls: dls, b: b, calls: calls, h: h, ll: newLineLog()}
}

// TestDeadLetterHeldWhileDLQFull: while the dead-letter stream refuses
// every dead letter (full, discard new), a failed message is held,
// unacknowledged, and only its dead-letter publish retried: its handler
// is not called again — not after redelivery-delay (the Nak the binder
// sent before) nor after ack-wait (the keeper's in-progress acks keep it)
// — and the binding's Health reports its dead letters down. Once the
// stream has room both dead letters arrive, the messages are terminated
// (nothing pending on the group's consumer) and Health is up again.
func TestDeadLetterHeldWhileDLQFull(t *testing.T) {
	f := setUpHeldDLQ(t, "held")
	dest, js, ctx, dls, b, calls, h, ll := f.dest, f.js, f.ctx, f.dls, f.b, f.calls, f.h, f.ll
	// holding counts what the binder holds in flight after the handler
	// returned (the core's in-flight gauges count it through the hook).
	var holding bindertest.Holding
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h, Logger: slog.New(ll),
		Consumer:  stream.ConsumerConfig{DLQ: true, Concurrency: 2},
		Extension: map[string]any{"ack-wait": "1s", "redelivery-delay": "100ms", "dlq-attempts": 2},
		Holding:   holding.Hold})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ids := []string{"m0", "m1"}
	for _, id := range ids {
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	// Not fatal: the counts below say what happened instead.
	if !ll.wait(heldWarn, 10*time.Second) {
		t.Error("no WARN that the failed message is held")
	}
	waitFor(t, 10*time.Second, "both messages handled", func() bool { return calls.get("m0") >= 1 && calls.get("m1") >= 1 })
	if !eventually(10*time.Second, func() bool {
		err := c.(stream.BindingHealthChecker).Health(ctx)
		return err != nil && strings.Contains(err.Error(), "cannot send dead letters")
	}) {
		t.Error("Health does not report the dead letters down")
	}
	// Several redelivery-delays and twice ack-wait: the old Nak brought
	// each message back within about 100ms, a lapsed ack-wait after 1s.
	time.Sleep(3 * time.Second)
	for _, id := range ids {
		if n := calls.get(id); n != 1 {
			t.Errorf("%s handled %d times while its dead letter was held, want 1 (the handler ran again)", id, n)
		}
	}

	// Held, not settled: both count in flight (0 before the fix: the
	// core's count ended when the handler returned).
	if n := holding.N(); n != 2 {
		t.Errorf("%d messages counted in flight while both were held; want 2", n)
	}

	// Room in the dead-letter stream: both dead letters go.
	cfg := dls.CachedInfo().Config
	cfg.MaxMsgs = -1
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "both dead letters stored", func() bool {
		info, err := dls.Info(ctx)
		return err == nil && info.State.Msgs == 3
	})
	got := map[string]bool{}
	for seq := uint64(2); seq <= 3; seq++ {
		m, err := dls.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got[m.Header.Get(idHeader)] = true
	}
	if !got["m0"] || !got["m1"] {
		t.Errorf("dead letters of %v, want m0 and m1", got)
	}
	src, err := js.Stream(ctx, natsbinder.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the group's consumer to have nothing pending", func() bool {
		names := src.ConsumerNames(ctx)
		n := 0
		for name := range names.Name() {
			ci, err := src.Consumer(ctx, name)
			if err != nil {
				return false
			}
			info, err := ci.Info(ctx)
			if err != nil || info.NumAckPending != 0 || info.NumPending != 0 || info.NumRedelivered != 0 {
				return false
			}
			n++
		}
		return n == 1
	})
	waitFor(t, 10*time.Second, "Health up again", func() bool { return c.(stream.BindingHealthChecker).Health(ctx) == nil })
	waitFor(t, 10*time.Second, "nothing counted in flight once both were terminated", func() bool { return holding.N() == 0 })
	for _, id := range ids {
		if n := calls.get(id); n != 1 {
			t.Errorf("%s handled %d times, want 1", id, n)
		}
	}
	if !ll.wait("dead letter sent after it was held", time.Second) {
		t.Error("no INFO that the held dead letter was sent")
	}
}

// TestDeadLetterHeldPauseStop: a Pause during a held dead letter returns
// at once (the hold is no handler call); a Stop returns within its ctx
// and gives the message back at once: a new member of the group gets it
// well before ack-wait (30s), so nothing is lost.
func TestDeadLetterHeldPauseStop(t *testing.T) {
	f := setUpHeldDLQ(t, "heldstop")
	dest, ctx, b, calls, h, ll := f.dest, f.ctx, f.b, f.calls, f.h, f.ll
	spec := stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h, Logger: slog.New(ll), Binding: "test-in-0",
		ContentType: stream.DefaultContentType,
		Consumer:    stream.ConsumerConfig{DLQ: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension:   map[string]any{"redelivery-delay": "100ms"}}
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := b.BindConsumer(bctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(bctx); err != nil {
		t.Fatal(err)
	}
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(ctx, msg("m0")); err != nil {
		t.Fatal(err)
	}
	if !ll.wait(heldWarn, 10*time.Second) {
		t.Fatal("no WARN that the failed message is held")
	}
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel()
	if err := c.Pause(pctx); err != nil {
		t.Fatalf("Pause during the hold: %v", err)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	if err := c.Stop(sctx); err != nil {
		t.Fatalf("Stop during the hold: %v", err)
	}
	if !ll.wait("given back", time.Second) {
		t.Error("no WARN that the held message was given back")
	}
	if n := calls.get("m0"); n != 1 {
		t.Errorf("m0 handled %d times before Stop, want 1", n)
	}
	// A new member of the group: it gets m0 at once (given back), not
	// after ack-wait (30s).
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Consumer: stream.ConsumerConfig{DLQ: true}, Extension: map[string]any{"redelivery-delay": "100ms"}})
	waitFor(t, 10*time.Second, "m0 delivered again to the group's next member", func() bool { return calls.get("m0") == 2 })
}

// eventually reports whether cond held within d (polled).
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
