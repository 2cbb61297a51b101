package dispatch

import (
	"context"
	"testing"
	"time"
)

// TestUnorderedItemsNotBehindHeldWorker: a worker whose call holds its
// item (a Nak that keeps failing, a slow call) does not hold back items of
// the empty route, which have no order: the other workers handle them all,
// batch mode too. With a FIFO per worker chosen round robin, every n-th of
// them waited behind the held call.
func TestUnorderedItemsNotBehindHeldWorker(t *testing.T) {
	for _, batch := range []int{1, 3} {
		release := make(chan struct{})
		handled := make(chan int, 100)
		p := New(Options[int]{Workers: 4, QueueLen: 100, Batch: batch, Handle: func(_ context.Context, items []int) {
			for _, it := range items {
				if it == 0 {
					<-release
					continue
				}
				handled <- it
			}
		}})
		if !p.Submit(context.Background(), "", 0) {
			t.Fatal("Submit refused")
		}
		time.Sleep(10 * time.Millisecond) // a worker takes item 0 alone
		for i := 1; i <= 40; i++ {
			if !p.Submit(context.Background(), "", i) {
				t.Fatal("Submit refused")
			}
		}
		deadline := time.After(5 * time.Second)
		for n := 0; n < 40; n++ {
			select {
			case <-handled:
			case <-deadline:
				t.Fatalf("batch %d: %d of 40 unordered items handled while one worker is held", batch, n)
			}
		}
		close(release)
		if err := p.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
