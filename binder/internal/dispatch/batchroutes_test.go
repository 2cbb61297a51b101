package dispatch

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestBatchTakesSeveralRoutes: in batch mode a worker fills its batch from
// several ready routes, each route's items in order. A batch of one route
// only (de1fdde) handed a batch consumer with many keys and concurrency
// above 1 one message a call.
func TestBatchTakesSeveralRoutes(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	last := map[string]int{}
	var wg sync.WaitGroup
	p := New(Options[[2]int]{Workers: 2, QueueLen: 64, Batch: 8, Handle: func(_ context.Context, items [][2]int) {
		<-gate
		mu.Lock()
		sizes = append(sizes, len(items))
		for _, it := range items {
			r := fmt.Sprint(it[0])
			if l, ok := last[r]; ok && it[1] != l+1 {
				t.Errorf("route %s: %d after %d", r, it[1], l)
			}
			last[r] = it[1]
			wg.Done()
		}
		mu.Unlock()
	}})
	defer p.Stop(context.Background())
	ctx := context.Background()
	// Two items to take both workers, then 32 items of 16 routes queued
	// while they wait.
	wg.Add(2 + 32)
	p.Submit(ctx, "100", [2]int{100, 0})
	p.Submit(ctx, "101", [2]int{101, 0})
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.qmu.Lock()
		taken := p.queued == 0 && len(p.lanes) == 2
		p.qmu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the workers did not take the first two items")
		}
		time.Sleep(time.Millisecond) // polling the pool's state
	}
	for seq := range 2 {
		for r := range 16 {
			p.Submit(ctx, fmt.Sprint(r), [2]int{r, seq})
		}
	}
	close(gate)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) > 2+8 {
		t.Errorf("%d handle calls for 2+32 items with batches of 8 (sizes %v): batches do not take several routes", len(sizes), sizes)
	}
}
