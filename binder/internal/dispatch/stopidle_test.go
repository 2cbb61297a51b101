package dispatch

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestStopIdleWithEndedContext: Stop with a context that has already ended
// (a binder whose intake used up Stop's time) reports no running handler
// calls when there are none. Go's select picked at random between "the
// workers are done" and "ctx ended", so it said "handler calls still
// running; their messages will be redelivered" about half the time.
func TestStopIdleWithEndedContext(t *testing.T) {
	for i := range 50 {
		p := New(Options[int]{Workers: 4, QueueLen: 4, Handle: func(context.Context, []int) {}})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Stop(ctx); err != nil {
			t.Fatalf("round %d: Stop of an idle pool: %v", i, err)
		}
	}
	// A call in flight is still reported, with the count.
	entered, release := make(chan struct{}), make(chan struct{})
	p := New(Options[int]{Workers: 2, QueueLen: 4, Handle: func(context.Context, []int) {
		entered <- struct{}{}
		<-release
	}})
	defer close(release)
	p.Submit(context.Background(), "", 1)
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Stop(ctx); err == nil || !strings.Contains(err.Error(), "1 handler call still running") {
		t.Fatalf("Stop with a call in flight: %v", err)
	}
}
