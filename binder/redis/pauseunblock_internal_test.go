package redis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestCloseWaitsForPauseUnblock: Pause ends the blocked read with CLIENT
// UNBLOCK from a goroutine of its own; Stop and Close must not return
// while it still runs (it used the binder's client after Close had closed
// it). The hook holds Pause's CLIENT UNBLOCK until its ctx ends, as a
// server that does not answer would (its bound is command-timeout, 10s
// here): Stop cancels it and returns with it gone. Without that it
// outlived Stop and Close by command-timeout.
func TestCloseWaitsForPauseUnblock(t *testing.T) {
	redistest.Require(t)
	prefix := redistest.Prefix(t)
	before := goleak.IgnoreCurrent()

	var calls atomic.Int32
	held := make(chan struct{})
	unblockHook = func(ctx context.Context) {
		if calls.Add(1) == 1 { // Pause's; Stop's own goes through
			close(held)
			<-ctx.Done()
		}
	}
	t.Cleanup(func() { unblockHook = nil })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := New(ctx, stream.BinderSettings{Name: "redis", Type: Type, Environment: map[string]any{
		"address": redistest.Addr(), "key-prefix": prefix, "command-timeout": "10s"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "p-in-0", Destination: "pauseunblock", Group: "g",
		ContentType: stream.DefaultContentType, Handler: func(context.Context, stream.Envelope) error { return nil },
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	running := goleak.IgnoreCurrent() // the binder's and the run's
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatal("Pause sent no CLIENT UNBLOCK")
	}
	start := time.Now()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %s: it waited out Pause's CLIENT UNBLOCK instead of cancelling it", d)
	}
	// Stop returned: nothing of the run, Pause's goroutine included, runs.
	goleak.VerifyNone(t, running)
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
}
