package dispatch

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestReviewManyRoutesHandOffDoesNotAllocate: with many routes queued at
// once (Kafka ordering: key, Redis or NATS keys of high cardinality),
// handing items to workers does not allocate a lane (and its FIFO) per
// item once the pool has seen that many routes: lanes are reused.
func TestReviewManyRoutesHandOffDoesNotAllocate(t *testing.T) {
	const routes = 200
	names := make([]string, routes)
	for i := range names {
		names[i] = fmt.Sprintf("key-%d", i)
	}
	var wg sync.WaitGroup
	p := New(Options[int]{Workers: 4, QueueLen: 64, Handle: func(_ context.Context, items []int) {
		for range items {
			wg.Done()
		}
	}})
	defer p.Stop(context.Background())
	ctx := context.Background()
	round := func() {
		_ = p.Pause(ctx) // every item of the round queued at once: a lane per route
		wg.Add(routes)
		for i := range routes {
			p.Submit(ctx, names[i], i)
		}
		p.Resume()
		wg.Wait()
	}
	round() // warm up
	allocs := testing.AllocsPerRun(50, round)
	// Pause makes one channel a round; a lane per route would be 200+.
	if allocs > 5 {
		t.Errorf("%.0f allocations per round of %d items of distinct routes, want a few (the lanes reused)", allocs, routes)
	}
}
