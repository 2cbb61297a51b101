package dispatch

import (
	"context"
	"testing"
	"time"
)

func TestSettleReserve(t *testing.T) {
	for _, c := range []struct{ left, want time.Duration }{
		{10 * time.Second, time.Second},
		{time.Minute, time.Second},
		{2 * time.Second, 200 * time.Millisecond},
		{0, 0},
		{-time.Second, 0},
	} {
		if got := SettleReserve(c.left); got != c.want {
			t.Errorf("SettleReserve(%s) = %s, want %s", c.left, got, c.want)
		}
	}
}

// TestCancelBefore: without a deadline cancel comes when ctx ends, at once
// for an ended ctx, and never after stop.
func TestCancelBefore(t *testing.T) {
	called := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	stop := CancelBefore(ctx, func() { close(called) })
	cancel()
	<-called
	stop()

	n := 0
	CancelBefore(ctx, func() { n++ })()
	if n != 1 {
		t.Errorf("an ended ctx: cancel called %d times, want 1 (at once)", n)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	stop = CancelBefore(ctx, func() { t.Error("cancel called after stop") })
	stop()
	<-ctx.Done()
	time.Sleep(10 * time.Millisecond) // an AfterFunc that fired would have run by now
}
