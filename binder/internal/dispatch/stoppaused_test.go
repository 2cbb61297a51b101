package dispatch

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestStopWhilePausedReleasesInRouteOrder: a paused pool that is stopped
// releases each route's items in their order. A worker took a route's
// next item while the pool was paused and waited for Resume with it; Stop
// released it from that worker's goroutine while Stop's drain released the
// route's later items, often first (the NATS binder gave a key's messages
// back out of order: TestStopWhilePausedGivesBackInOrder in binder/nats).
func TestStopWhilePausedReleasesInRouteOrder(t *testing.T) {
	for round := range 20 {
		var mu sync.Mutex
		var released []int
		entered, unblock := make(chan struct{}), make(chan struct{})
		p := New(Options[int]{Workers: 4, QueueLen: 4,
			Handle: func(_ context.Context, items []int) {
				if items[0] == 1 {
					close(entered)
					<-unblock
				}
			},
			Release: func(it int) {
				mu.Lock()
				released = append(released, it)
				mu.Unlock()
			}})
		const n = 10
		for i := 1; i <= n; i++ {
			if !p.Submit(context.Background(), "k", i) {
				t.Fatal("refused")
			}
		}
		<-entered
		paused := make(chan error, 1)
		go func() { paused <- p.Pause(context.Background()) }()
		// Pause waits for item 1's call; once it returned, its route is
		// ready again.
		for !p.isPaused() {
			time.Sleep(time.Millisecond)
		}
		close(unblock)
		if err := <-paused; err != nil {
			t.Fatal(err)
		}
		// The route is settled: ready (nobody takes an item while the
		// pool is paused), or — before the fix — a worker took item 2.
		deadline := time.Now().Add(5 * time.Second)
		for !p.routeSettled("k", n-1) {
			if time.Now().After(deadline) {
				t.Fatal("route k never settled after item 1")
			}
			time.Sleep(time.Millisecond)
		}
		if err := p.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := slices.Clone(released)
		mu.Unlock()
		want := []int{2, 3, 4, 5, 6, 7, 8, 9, 10}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: released %v; want %v", round, got, want)
		}
	}
}

func (p *Pool[T]) isPaused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// routeSettled reports whether route's first item was handled and its lane
// is either ready with left items queued, or busy with a worker that took
// the next one (left-1 queued).
func (p *Pool[T]) routeSettled(route string, left int) bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	l := p.lanes[route]
	if l == nil {
		return false
	}
	return (!l.busy && p.queued == left && p.ready.len() == 1) || (l.busy && p.queued == left-1)
}
