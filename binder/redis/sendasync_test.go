package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/internal/testproxy"
	"github.com/streambind/streambind/stream"
)

// asyncOf returns p as a stream.AsyncProducer.
func asyncOf(t *testing.T, p stream.Producer) stream.AsyncProducer {
	t.Helper()
	ap, ok := p.(stream.AsyncProducer)
	if !ok {
		t.Fatalf("the producer (%T) does not implement stream.AsyncProducer", p)
	}
	return ap
}

// storedIDs returns the x-test-id of every entry of the stream at key,
// in stream order.
func storedIDs(t *testing.T, key string) []string {
	t.Helper()
	admin := redistest.Client(t, redistest.Addr(), "", "")
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	xs, err := admin.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", key, err)
	}
	ids := make([]string, 0, len(xs))
	for _, x := range xs {
		id, _ := x.Values[redisbinder.HeaderFieldPrefix+idHeader].(string)
		ids = append(ids, id)
	}
	return ids
}

// checkStoredInOrder fails unless the stream at key holds want in that
// order, each at least once: a copy of an entry (a retried XADD whose
// first reply was lost) is allowed after its original, as at-least-once
// delivery has it; the order of first copies must be want's. It returns
// how many copies there were.
func checkStoredInOrder(t *testing.T, key string, want []string) int {
	t.Helper()
	got := storedIDs(t, key)
	seen := make(map[string]bool, len(got))
	var first []string
	for _, id := range got {
		if !seen[id] {
			seen[id] = true
			first = append(first, id)
		}
	}
	for i := 0; i < len(first) && i < len(want); i++ {
		if first[i] != want[i] {
			t.Fatalf("stream %s: entry %d (first copies) is %s, want %s (out of the order sent); around it: %v", key, i, first[i], want[i], first[max(i-3, 0):min(i+4, len(first))])
		}
	}
	if len(first) != len(want) {
		t.Fatalf("stream %s holds %d distinct messages, want %d", key, len(first), len(want))
	}
	return len(got) - len(first)
}

// sendAsyncAll sends msg(ids[i]) with SendAsync from one goroutine, in
// order, each with dones' done(i).
func sendAsyncAll(ctx context.Context, ap stream.AsyncProducer, ids []string, d *bindertest.Dones) {
	for i, id := range ids {
		ap.SendAsync(ctx, msg(id), d.Done(i))
	}
}

func seqIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = prefix + strconv.Itoa(i)
	}
	return ids
}

// TestSendAsyncKeepsOrder: 2,000 SendAsyncs one after another from one
// goroutine are stored in that order, and each done is called once, with
// nil.
func TestSendAsyncKeepsOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ap := asyncOf(t, bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "order"}))
	ids := seqIDs("m", 2000)
	d := bindertest.NewDones(len(ids))
	sendAsyncAll(t.Context(), ap, ids, d)
	d.Wait(t, 30*time.Second)
	d.CheckNil(t)
	time.Sleep(50 * time.Millisecond) // a second call of a done would come now
	d.CheckOnce(t)
	if n := checkStoredInOrder(t, redisbinder.StreamKey(e.prefix, "order", -1), ids); n != 0 {
		t.Errorf("%d copies stored, with nothing failing", n)
	}
}

// TestSendAfterSendAsyncKeepsOrder: a Send issued while SendAsyncs of
// the producer are unanswered is stored after them (rounds of 20
// SendAsyncs and one Send, from one goroutine).
func TestSendAfterSendAsyncKeepsOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "mixed"})
	ap := asyncOf(t, p)
	const rounds, each = 50, 20
	var ids []string
	d := bindertest.NewDones(rounds * each)
	for r := range rounds {
		for i := range each {
			id := fmt.Sprintf("a%d-%d", r, i)
			ids = append(ids, id)
			ap.SendAsync(t.Context(), msg(id), d.Done(r*each+i))
		}
		id := fmt.Sprintf("s%d", r)
		ids = append(ids, id)
		if err := p.Send(t.Context(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	d.Wait(t, 30*time.Second)
	d.CheckNil(t)
	d.CheckOnce(t)
	checkStoredInOrder(t, redisbinder.StreamKey(e.prefix, "mixed", -1), ids)
}

// TestSendAsyncOrderAcrossLostConnection: while one goroutine sends
// 3,000 messages with SendAsync, the binder's connections (through a
// loopback proxy of the test's own) are black-holed towards Redis for
// 200ms, a pipeline waiting in the proxy, and then cut, twice; the
// pipeline's XADDs fail and are retried. Every done is called once, with
// nil, and the stream holds every message in the order sent (a retried
// XADD may be stored twice, after its original): the ordered lane
// retries a pipeline before it writes the next.
func TestSendAsyncOrderAcrossLostConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name})
	h := &recordingHandler{}
	ap := asyncOf(t, bindProducer(t, b, stream.ProducerSpec{Destination: "lost", Logger: slog.New(h)}))
	ids := seqIDs("m", 3000)
	d := bindertest.NewDones(len(ids))
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i, id := range ids {
			ap.SendAsync(t.Context(), msg(id), d.Done(i))
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // spread the sends over the faults
			}
		}
	}()
	for _, at := range []int64{500, 1500} {
		waitFor(t, 30*time.Second, fmt.Sprintf("%d dones", at), func() bool { return int64(d.Answered()) >= at })
		px.p.Freeze(testproxy.Up) // what the binder writes waits in the proxy
		time.Sleep(200 * time.Millisecond)
		px.p.Cut()
		px.thaw()
	}
	<-sent
	d.Wait(t, 60*time.Second)
	d.CheckNil(t)
	d.CheckOnce(t)
	if n := h.count("redis: send failed; retrying"); n < 2 {
		t.Errorf("%d retries logged, want one a cut at least (the test did not fail a pipeline)", n)
	}
	copies := checkStoredInOrder(t, redisbinder.StreamKey(e.prefix, "lost", -1), ids)
	t.Logf("%d retries logged, %d copies stored", h.count("redis: send failed; retrying"), copies)
}

// TestSendAsyncCloseAnswersEverySend: Close with SendAsyncs queued.
// Redis reachable: Close returns nil once every done was called, with
// nil. Redis black-holed: Close with a 300ms ctx returns within about
// that, SendAsyncs waiting for room return, and every done is called
// once — with stream.ErrClosed for the sends never written, an error for
// the pipeline being written; all but that pipeline's at once, not
// after command-timeout (3s here).
func TestSendAsyncCloseAnswersEverySend(t *testing.T) {
	t.Parallel()
	t.Run("reachable", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "close"})
		ap := asyncOf(t, p)
		ids := seqIDs("m", 1000)
		d := bindertest.NewDones(len(ids))
		sendAsyncAll(t.Context(), ap, ids, d)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := d.Answered(); n != len(ids) {
			t.Fatalf("Close returned with %d of %d dones called", n, len(ids))
		}
		d.CheckNil(t)
		d.CheckOnce(t)
		checkStoredInOrder(t, redisbinder.StreamKey(e.prefix, "close", -1), ids)
	})
	t.Run("black-holed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		px := newHoleProxy(t)
		b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name, "command-timeout": "3s"})
		p := bindProducer(t, b, stream.ProducerSpec{Destination: "closehole", Extension: map[string]any{"batch-size": 8}})
		ap := asyncOf(t, p)
		px.freeze()
		defer px.thaw()
		ids := seqIDs("m", 100) // 8 written, 32 queued, the rest waiting for room
		d := bindertest.NewDones(len(ids))
		returned := make(chan struct{})
		var calls atomic.Int32 // SendAsyncs returned
		go func() {
			defer close(returned)
			for i, id := range ids {
				ap.SendAsync(t.Context(), msg(id), d.Done(i))
				calls.Add(1)
			}
		}()
		// The writer holds at least one in its frozen pipeline and the
		// queue takes 32 (4 × batch-size): 33 returned means the queue is
		// in use, and the rest of the 100 queue or wait for room.
		waitFor(t, 10*time.Second, "33 SendAsyncs returned", func() bool { return calls.Load() >= 33 })
		if n := d.Answered(); n != 0 {
			t.Fatalf("%d dones called with Redis black-holed", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := p.Close(ctx)
		if took := time.Since(start); took > time.Second {
			t.Errorf("Close with a 300ms ctx took %s", took)
		}
		if err == nil {
			t.Error("Close returned nil with the sends unanswered")
		}
		select {
		case <-returned:
		case <-time.After(time.Second):
			t.Fatal("SendAsync still blocked 1s after Close")
		}
		waitFor(t, time.Second, "the dones of all but the pipeline in flight", func() bool { return d.Answered() >= len(ids)-8 })
		d.Wait(t, 10*time.Second) // the pipeline in flight: command-timeout
		time.Sleep(50 * time.Millisecond)
		d.CheckOnce(t)
		closed := 0
		for i := range ids {
			err := d.Err(i)
			switch {
			case err == nil:
				t.Errorf("message %d: done(nil) with Redis black-holed", i)
			case errors.Is(err, stream.ErrClosed):
				closed++
			}
		}
		if closed < len(ids)-8 {
			t.Errorf("%d dones with stream.ErrClosed, want at least %d (all but the pipeline in flight)", closed, len(ids)-8)
		}
	})
}

// TestSendAsyncEndedContextWhileFull: with the ordered lane's queue full
// (Redis black-holed, batch-size 1: one XADD written, 4 queued),
// SendAsync with an ended ctx calls done with ctx's error before it
// returns; once Redis is back, the queued ones are stored.
func TestSendAsyncEndedContextWhileFull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name})
	ap := asyncOf(t, bindProducer(t, b, stream.ProducerSpec{Destination: "full", Extension: map[string]any{"batch-size": 1}}))
	px.freeze()
	ids := seqIDs("m", 5)
	d := bindertest.NewDones(len(ids))
	queued := make(chan struct{})
	go func() {
		defer close(queued)
		sendAsyncAll(t.Context(), ap, ids, d) // the 5th returns once the writer took the 1st
	}()
	select {
	case <-queued:
	case <-time.After(5 * time.Second):
		t.Fatal("5 SendAsyncs with batch-size 1 did not return: the writer took none")
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	var calls atomic.Int32
	var got error
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		ap.SendAsync(ended, msg("late"), func(err error) { calls.Add(1); got = err })
	}()
	select {
	case <-returned:
	case <-time.After(2 * time.Second):
		t.Fatal("SendAsync with an ended ctx and the queue full still blocked after 2s")
	}
	if c := calls.Load(); c != 1 {
		t.Fatalf("done called %d times before SendAsync returned, want once", c)
	}
	if !errors.Is(got, context.Canceled) {
		t.Errorf("done(%v), want ctx's error (context.Canceled)", got)
	}
	px.thaw()
	d.Wait(t, 30*time.Second)
	d.CheckNil(t)
	d.CheckOnce(t)
	if c := calls.Load(); c != 1 {
		t.Errorf("the ended ctx's done called %d times, want once", c)
	}
	checkStoredInOrder(t, redisbinder.StreamKey(e.prefix, "full", -1), ids)
}

// TestSendAsyncOversizedIsPermanent: a message over max-message-size
// fails with a permanent error through done, and the messages after it
// are stored, in order.
func TestSendAsyncOversizedIsPermanent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ap := asyncOf(t, bindProducer(t, e.binder(t, map[string]any{"max-message-size": 1024}), stream.ProducerSpec{Destination: "big"}))
	d := bindertest.NewDones(3)
	ap.SendAsync(t.Context(), msg("a"), d.Done(0))
	big := msg("big")
	big.Payload = []byte(strings.Repeat("x", 2000))
	ap.SendAsync(t.Context(), big, d.Done(1))
	ap.SendAsync(t.Context(), msg("b"), d.Done(2))
	d.Wait(t, 10*time.Second)
	d.CheckOnce(t)
	if err := d.Err(1); !stream.IsPermanent(err) || !strings.Contains(err.Error(), "max-message-size") {
		t.Errorf("oversized message: done(%v), want a permanent max-message-size error", err)
	}
	for _, i := range []int{0, 2} {
		if err := d.Err(i); err != nil {
			t.Errorf("message %d: done(%v)", i, err)
		}
	}
	checkStoredInOrder(t, redisbinder.StreamKey(e.prefix, "big", -1), []string{"a", "b"})
}
