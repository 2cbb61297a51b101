package nats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
)

// TestSendAsyncDoneWhenCtxEnds: with the server black-holed, a SendAsync
// whose ctx ends gets its done then, with ctx's error, as a Send returns
// then, although a SendAsync published before it (without a deadline)
// still waits for its PubAck: done had come only once that one's
// send-timeout (5s) ran out. Each done once.
func TestSendAsyncDoneWhenCtxEnds(t *testing.T) {
	t.Parallel()
	b, px := proxiedShared(t, nil)
	dest := unique(t, "async-ctxend")
	p := asyncProducer(t, b, dest, nil)
	a := bindertest.NewDones(3)
	p.SendAsync(context.Background(), msg(asyncID(0)), a.Done(0)) // connected, stream there
	waitFor(t, 10*time.Second, "the first PubAck", func() bool { return a.Calls(0) == 1 })
	if err := a.Err(0); err != nil {
		t.Fatalf("the first SendAsync: %v", err)
	}
	px.blackhole(true)
	p.SendAsync(context.Background(), msg(asyncID(1)), a.Done(1))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	p.SendAsync(ctx, msg(asyncID(2)), a.Done(2))
	waitFor(t, 10*time.Second, "the done of the SendAsync with a 300ms ctx", func() bool { return a.Calls(2) > 0 })
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("done %s after a SendAsync with a 300ms ctx", took)
	}
	if err := a.Err(2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("done(%v), want ctx's error", err)
	}
	px.blackhole(false)
	a.Wait(t, 30*time.Second)
	time.Sleep(100 * time.Millisecond) // not a synchronisation: a second call of a done, were there one, would come now
	a.CheckOnce(t)
}
