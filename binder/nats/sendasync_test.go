package nats_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/bindertest"
	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// asyncProducer binds a producer of dest on b as a stream.AsyncProducer.
func asyncProducer(t *testing.T, b stream.Binder, dest string, ext map[string]any) stream.AsyncProducer {
	t.Helper()
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Extension: ext})
	ap, ok := p.(stream.AsyncProducer)
	if !ok {
		t.Fatalf("the NATS producer (%T) is not a stream.AsyncProducer", p)
	}
	return ap
}

// storedIDs reads dest's stream on the shared server from its start and
// returns the id header of each message, in stream order.
func storedIDs(t *testing.T, dest string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := jsAt(t, natstest.URL())
	s, err := js.Stream(ctx, natsbinder.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.State.Msgs)
	if n == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, n)
	for len(ids) < n {
		batch, err := c.Fetch(min(n-len(ids), 500), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			ids = append(ids, m.Headers().Get(idHeader))
			got++
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			t.Fatalf("read %d of %d messages of the stream", len(ids), n)
		}
	}
	return ids
}

func asyncID(i int) string { return "a-" + strconv.Itoa(i) }

// sendAsyncN makes n SendAsyncs of msg(asyncID(i)), i = 0..n-1, from one
// goroutine, in order, with a background ctx, and returns their dones.
func sendAsyncN(p stream.AsyncProducer, n int) *bindertest.Dones {
	a := bindertest.NewDones(n)
	for i := range n {
		p.SendAsync(context.Background(), msg(asyncID(i)), a.Done(i))
	}
	return a
}

// TestSendAsyncOrder: 2,000 SendAsyncs from one goroutine are each
// answered once, with nil, and stored in call order.
func TestSendAsyncOrder(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "async-order")
	p := asyncProducer(t, b, dest, nil)
	const n = 2000
	a := sendAsyncN(p, n)
	a.Wait(t, 30*time.Second)
	a.CheckOnce(t)
	if f := a.Failed(); len(f) > 0 {
		t.Fatalf("%d SendAsyncs failed, e.g. %v", len(f), anyOf(f))
	}
	ids := storedIDs(t, dest)
	if len(ids) != n {
		t.Fatalf("%d messages stored, want %d", len(ids), n)
	}
	for i, id := range ids {
		if id != asyncID(i) {
			t.Fatalf("stored message %d is %s, want %s (SendAsyncs of one goroutine stored out of order)", i, id, asyncID(i))
		}
	}
}

func anyOf(m map[int]error) error {
	for _, err := range m {
		return err
	}
	return nil
}

// proxiedShared returns a binder on the shared server reached through a
// loopback proxy of the test's own, whose streams are deleted when the
// test ends, and the proxy.
func proxiedShared(t *testing.T, env map[string]any) (stream.Binder, *holeProxy) {
	t.Helper()
	natstest.Require(t)
	u, err := url.Parse(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	px := newHoleProxy(t, u.Host)
	e := map[string]any{"reconnect-initial-interval": "20ms", "reconnect-max-interval": "200ms", "reconnect-stable-interval": "100ms"}
	for k, v := range env {
		e[k] = v
	}
	b := tracked{newBinder(t, px.url(), e), newStreams(t, natstest.URL())}
	closeBinder(t, b)
	return b, px
}

// TestSendAsyncConnectionCutLosesNothing: the producer's connection is
// cut twice while one goroutine makes 3,000 SendAsyncs. Each is answered
// once; the ones whose PubAck the cut lost are retried (as Send retries)
// and succeed, so every message is stored, and none twice (Nats-Msg-Id).
func TestSendAsyncConnectionCutLosesNothing(t *testing.T) {
	t.Parallel()
	b, px := proxiedShared(t, nil)
	dest := unique(t, "async-cut")
	p := asyncProducer(t, b, dest, map[string]any{"send-timeout": "2s"})
	const n = 3000
	a := bindertest.NewDones(n)
	ctx := context.Background()
	for i := range n {
		if i == n/3 || i == 2*n/3 {
			px.cut()
		}
		p.SendAsync(ctx, msg(asyncID(i)), a.Done(i))
		if i%100 == 0 {
			time.Sleep(5 * time.Millisecond) // spread the sends over the cuts' reconnects
		}
	}
	a.Wait(t, 60*time.Second)
	a.CheckOnce(t)
	failed := a.Failed()
	ids := storedIDs(t, dest)
	count := map[string]int{}
	for _, id := range ids {
		count[id]++
	}
	for id, c := range count {
		if c > 1 {
			t.Errorf("%s stored %d times", id, c)
		}
	}
	for i := range n {
		if _, bad := failed[i]; !bad && count[asyncID(i)] == 0 {
			t.Errorf("message %d answered nil but not stored", i)
		}
	}
	t.Logf("%d stored, %d failed", len(ids), len(failed))
	if len(failed) > 0 {
		t.Errorf("%d SendAsyncs failed across two brief cuts (send-attempts 10), e.g. %v", len(failed), anyOf(failed))
	}
}

// TestSendAsyncCloseWithAcksOutstanding: Close right after SendAsyncs
// returns once every one of them is answered; a SendAsync after Close
// gets stream.ErrClosed.
func TestSendAsyncCloseWithAcksOutstanding(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "async-close")
	p := asyncProducer(t, b, dest, nil)
	const n = 1000
	a := sendAsyncN(p, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if left := a.Left(); left != 0 {
		t.Fatalf("Close returned with %d SendAsyncs unanswered", left)
	}
	a.CheckOnce(t)
	if f := a.Failed(); len(f) > 0 {
		t.Errorf("%d failed, e.g. %v", len(f), anyOf(f))
	}
	var after error
	answered := false
	p.SendAsync(context.Background(), msg("late"), func(err error) { after, answered = err, true })
	if !answered || !errors.Is(after, stream.ErrClosed) {
		t.Errorf("SendAsync after Close: answered %v, %v; want stream.ErrClosed at once", answered, after)
	}
}

// TestSendAsyncCloseBoundedWhileAcksLost: with the PubAcks lost (the
// connection black-holed), Close returns when its ctx ends, and every
// SendAsync is still answered, once, with an error, after send-timeout
// and send-attempts.
func TestSendAsyncCloseBoundedWhileAcksLost(t *testing.T) {
	t.Parallel()
	b, px := proxiedShared(t, nil)
	dest := unique(t, "async-close-lost")
	p := asyncProducer(t, b, dest, map[string]any{"send-timeout": "300ms", "send-attempts": 2})
	px.blackhole(true)
	t.Cleanup(func() { px.blackhole(false); px.cut() })
	const n = 200
	a := sendAsyncN(p, n)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Close(ctx); err == nil {
		t.Error("Close with every PubAck lost returned nil before its sends were answered")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s with a 100ms context", d)
	}
	a.Wait(t, 20*time.Second)
	a.CheckOnce(t)
	if f := a.Failed(); len(f) != n {
		t.Errorf("%d of %d SendAsyncs without a PubAck failed, want all", len(f), n)
	}
}

// TestSendAsyncWaitsForRoomBoundedByCtx: with 4,096 SendAsyncs
// unanswered (their PubAcks lost: the connection black-holed; a
// send-timeout longer than the test), the next SendAsync waits for room
// until its ctx ends and done gets ctx's error. Once the connection is
// cut, every one is answered, once.
func TestSendAsyncWaitsForRoomBoundedByCtx(t *testing.T) {
	t.Parallel()
	b, px := proxiedShared(t, nil)
	dest := unique(t, "async-room")
	p := asyncProducer(t, b, dest, map[string]any{"send-timeout": "30s", "send-attempts": 1})
	px.blackhole(true)
	const window = 4096
	a := sendAsyncN(p, window)
	if left := a.Left(); left != window {
		t.Fatalf("%d of %d SendAsyncs answered with their PubAcks lost", window-left, window)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var (
		got      error
		answered atomic.Bool
	)
	start := time.Now()
	p.SendAsync(ctx, msg("one-too-many"), func(err error) { got = err; answered.Store(true) })
	took := time.Since(start)
	if !answered.Load() || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("SendAsync over the window: answered %v with %v; want ctx's error", answered.Load(), got)
	}
	if took < 250*time.Millisecond || took > 2*time.Second {
		t.Errorf("SendAsync over the window returned after %s; want it to wait for room until its 300ms ctx ended", took)
	}
	px.blackhole(false)
	px.cut() // the PubAcks given up on the reconnect: each SendAsync fails (send-attempts 1)
	a.Wait(t, 20*time.Second)
	a.CheckOnce(t)
	t.Logf("%d of %d failed after the cut", len(a.Failed()), window)
}

// TestSendAsyncWaitsForRoomLeftBySends: the producer's Sends fill the
// window of its JetStream context (their PubAcks lost; one more Send
// fails "stalled"): a SendAsync then waits on the caller's goroutine,
// publishing again while its ctx lives (so it keeps its place among the
// caller's messages), and done gets ctx's error; it was not handed to a
// retry behind the caller's back.
func TestSendAsyncWaitsForRoomLeftBySends(t *testing.T) {
	t.Parallel()
	b, px := proxiedShared(t, nil)
	dest := unique(t, "async-room-sends")
	p := asyncProducer(t, b, dest, map[string]any{"send-timeout": "30s", "send-attempts": 1})
	px.blackhole(true)
	const window = 4096
	stalled := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for i := range window + 64 {
		wg.Go(func() {
			if err := p.Send(context.Background(), msg(asyncID(i))); errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				once.Do(func() { close(stalled) })
			}
		})
	}
	select {
	case <-stalled: // the window is full
	case <-time.After(30 * time.Second):
		t.Fatal("no Send stalled")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	got := make(chan error, 1)
	start := time.Now()
	p.SendAsync(ctx, msg("one-too-many"), func(err error) { got <- err })
	took := time.Since(start)
	if took < 300*time.Millisecond {
		t.Errorf("SendAsync returned after %s with the window full; want it to wait for room until its ctx ended", took)
	}
	select {
	case err := <-got:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("done(%v), want ctx's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("SendAsync not answered")
	}
	px.blackhole(false)
	px.cut() // the Sends end on the reconnect
	wg.Wait()
}

// TestSendAsyncRefusals: what Send refuses for good, SendAsync's done
// gets as a permanent error: a message over the server's max_payload, a
// header NATS cannot carry; a ctx ended before the call fails it unsent.
func TestSendAsyncRefusals(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "async-refused")
	p := asyncProducer(t, b, dest, nil)
	answer := func(ctx context.Context, m stream.Envelope) error {
		t.Helper()
		ch := make(chan error, 2)
		p.SendAsync(ctx, m, func(err error) { ch <- err })
		select {
		case err := <-ch:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("SendAsync not answered within 10s")
			return nil
		}
	}
	big := msg("big")
	big.Payload = []byte(strings.Repeat("x", 8<<20))
	if err := answer(context.Background(), big); err == nil || !stream.IsPermanent(err) {
		t.Errorf("SendAsync of 8 MiB: %v; want a permanent error", err)
	}
	bad := msg("bad-header")
	bad.Headers["Nats-Msg-Id"] = "mine"
	if err := answer(context.Background(), bad); err == nil || !stream.IsPermanent(err) {
		t.Errorf("SendAsync with a Nats- header: %v; want a permanent error", err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := answer(ended, msg("ended")); !errors.Is(err, context.Canceled) {
		t.Errorf("SendAsync with an ended ctx: %v; want ctx's error", err)
	}
	if err := answer(context.Background(), msg("fine")); err != nil {
		t.Errorf("SendAsync after the refusals: %v", err)
	}
	if ids := storedIDs(t, dest); len(ids) != 1 || ids[0] != "fine" {
		t.Errorf("stored %v, want [fine]", ids)
	}
}
