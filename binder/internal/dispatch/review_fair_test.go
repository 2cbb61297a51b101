package dispatch

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestReviewHotRouteDoesNotStarveOthers: with every worker kept busy by
// routes that always have items queued (hot routes), an item of another
// route, and one of the empty route, submitted later are handled after at
// most a few hot items: routes take turns (the ready routes are a FIFO),
// as do routes and the empty route.
func TestReviewHotRouteDoesNotStarveOthers(t *testing.T) {
	var mu sync.Mutex
	hotAfter := 0 // hot items handled after the cold ones were submitted
	coldSubmitted := false
	cold := make(chan int, 2) // hotAfter when each cold one was handled
	p := New(Options[string]{Workers: 2, QueueLen: 50, Handle: func(_ context.Context, items []string) {
		time.Sleep(200 * time.Microsecond)
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			switch it {
			case "cold", "free":
				cold <- hotAfter
			default:
				if coldSubmitted {
					hotAfter++
				}
			}
		}
	}})
	defer p.Stop(context.Background())
	ctx := context.Background()
	// Three hot routes, each with far more items queued than the test
	// needs: without turns, the workers would handle them first.
	for range 30 {
		for _, r := range []string{"h1", "h2", "h3"} {
			p.Submit(ctx, r, r)
		}
	}
	mu.Lock()
	coldSubmitted = true
	mu.Unlock()
	p.Submit(ctx, "c", "cold")
	p.Submit(ctx, "", "free")
	for range 2 {
		select {
		case n := <-cold:
			if n > 8 {
				t.Errorf("%d hot items handled after the cold ones were submitted, before one of them; want a few (turns)", n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the cold route's or the empty route's item not handled")
		}
	}
}
