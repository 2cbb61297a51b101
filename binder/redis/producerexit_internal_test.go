package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestSendAfterFlushersExitedIsClosed: a Send that entered the gate
// before a Close whose context had ended, and queues its request only
// after the flushers drained and returned, fails with stream.ErrClosed at
// once (a breaker's race: 8 senders and Close with a cancelled context
// left one sender waiting for ever on its answer, no flusher left).
// The send is held at that point by entering the gate here.
func TestSendAfterFlushersExitedIsClosed(t *testing.T) {
	redistest.Require(t)
	ctx := context.Background()
	sb, err := New(ctx, stream.BinderSettings{Name: "redis", Type: Type, Environment: map[string]any{
		"address": redistest.Addr(), "key-prefix": redistest.Prefix(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.(*Binder).Close(context.Background())
	pr, err := sb.BindProducer(ctx, stream.ProducerSpec{Binding: "p-out-0", Destination: "exited", ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.(*producer)
	if !p.gate.Enter() { // the Send in progress
		t.Fatal("gate closed before Close")
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Close(ended); err == nil {
		t.Fatal("Close with an ended context and a send in progress returned nil")
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the flushers did not return within 10s of the Close")
	}
	for _, sctx := range []context.Context{ctx, t.Context()} { // without and with Done
		res := make(chan error, 1)
		go func() { res <- p.send(sctx, stream.Envelope{Payload: []byte("late")}) }()
		select {
		case err := <-res:
			if !errors.Is(err, stream.ErrClosed) {
				t.Errorf("send after the flushers exited: %v, want stream.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("send after the flushers exited still waits after 5s: nothing will answer it")
		}
	}
	p.gate.Exit()
}
