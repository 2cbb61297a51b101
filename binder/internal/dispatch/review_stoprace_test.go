package dispatch

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReviewSubmitDuringStop: an item whose Submit returned true while
// Stop ran is handled or released, never left in a FIFO that nobody reads.
func TestReviewSubmitDuringStop(t *testing.T) {
	for round := range 3000 {
		var handled, released, accepted atomic.Int64
		p := New(Options[int]{Workers: 2, QueueLen: 4,
			Handle:  func(_ context.Context, items []int) { handled.Add(int64(len(items))) },
			Release: func(int) { released.Add(1) }})
		var wg sync.WaitGroup
		start := make(chan struct{})
		for s := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; ; i++ {
					r := ""
					if (i+s)%3 != 0 {
						r = string(rune('a' + (i+s)%5))
					}
					if !p.Submit(context.Background(), r, i) {
						return
					}
					accepted.Add(1)
				}
			}()
		}
		close(start)
		for accepted.Load() < int64(50+round%50) {
			runtime.Gosched()
		}
		_ = p.Stop(context.Background())
		wg.Wait()
		<-p.Done()
		if got := handled.Load() + released.Load(); got != accepted.Load() {
			t.Fatalf("round %d: %d submitted, %d handled + %d released", round, accepted.Load(), handled.Load(), released.Load())
		}
	}
}
