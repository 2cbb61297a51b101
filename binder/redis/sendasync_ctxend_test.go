package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// TestSendAsyncDoneWhenCtxEnds: with Redis black-holed, SendAsyncs whose
// ctx ends get their done then, with ctx's error, as a Send returns then
// (they had waited for the pipeline in flight: command-timeout, 5s, and
// the queued ones behind it), both the ones in the pipeline in flight and
// the queued ones; each done once, also after Redis is back and the lane
// answers them; the queued ones are not written; Close then returns nil.
func TestSendAsyncDoneWhenCtxEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "ctxend", Extension: map[string]any{"batch-size": 8}})
	ap := asyncOf(t, p)
	px.freeze()
	ids := seqIDs("m", 20) // 8 in the pipeline in flight, 12 queued
	d := bindertest.NewDones(len(ids))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	sendAsyncAll(ctx, ap, ids, d)
	d.Wait(t, 10*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the dones of SendAsyncs with a 300ms ctx came after %s", took)
	}
	for i := range ids {
		if err := d.Err(i); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("message %d: done(%v), want ctx's error", i, err)
		}
	}
	px.thaw()
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ccancel()
	if err := p.Close(cctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	d.CheckOnce(t)
	if n := len(storedIDs(t, redisbinder.StreamKey(e.prefix, "ctxend", -1))); n > 8 {
		t.Errorf("%d entries stored, want at most the 8 of the pipeline in flight", n)
	}
}
