package dispatch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReviewStressOrderNoLossNoDup: many routes (and the empty route),
// several workers, batches, random Holds, Pause/Resume at random and a Stop
// in the middle: items of one route are never handled at once nor out of
// submission order, and every submitted item is handled or released
// exactly once.
func TestReviewStressOrderNoLossNoDup(t *testing.T) {
	for _, batch := range []int{1, 3} {
		for _, workers := range []int{2, 4} {
			t.Run(fmt.Sprintf("w%d_b%d", workers, batch), func(t *testing.T) {
				for round := range 20 {
					stressRound(t, workers, batch, round)
				}
			})
		}
	}
}

type sitem struct {
	route string
	seq   int // per route
	id    int
}

func stressRound(t *testing.T, workers, batch, round int) {
	const n = 3000
	var mu sync.Mutex
	seen := make(map[int]int) // id -> times handled or released
	last := make(map[string]int)
	var busy sync.Map
	var p *Pool[sitem]
	var bad atomic.Value
	fail := func(f string, a ...any) { bad.CompareAndSwap(nil, fmt.Sprintf(f, a...)) }
	p = New(Options[sitem]{
		Workers: workers, QueueLen: 3, Batch: batch,
		Handle: func(_ context.Context, items []sitem) {
			// A batch may hold several routes (each in order), but no
			// route is in two calls at once.
			mine := map[string]bool{}
			for _, it := range items {
				if r := it.route; r != "" && !mine[r] {
					mine[r] = true
					if _, loaded := busy.LoadOrStore(r, true); loaded {
						fail("route %q handled twice at once", r)
					}
					defer busy.Delete(r)
				}
			}
			if rand.IntN(20) == 0 {
				if !p.Hold(time.Duration(rand.IntN(300)) * time.Microsecond) {
					mu.Lock()
					for _, it := range items {
						seen[it.id]++ // given back
					}
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			for _, it := range items {
				seen[it.id]++
				if it.route != "" {
					if l, ok := last[it.route]; ok && it.seq != l+1 {
						fail("route %q: %d after %d", it.route, it.seq, l)
					}
					last[it.route] = it.seq
				}
			}
			mu.Unlock()
		},
		Release: func(it sitem) {
			mu.Lock()
			seen[it.id]++
			mu.Unlock()
		},
	})
	stopPR := make(chan struct{})
	var prDone sync.WaitGroup
	prDone.Add(1)
	go func() {
		defer prDone.Done()
		for {
			select {
			case <-stopPR:
				p.Resume()
				return
			case <-time.After(time.Duration(rand.IntN(500)) * time.Microsecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			_ = p.Pause(ctx)
			cancel()
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			p.Resume()
		}
	}()
	seqs := make(map[string]int)
	stopAt := n/2 + rand.IntN(n/2)
	submitted := 0
	for i := range n {
		if i == stopAt && round%2 == 0 {
			break
		}
		r := ""
		if k := rand.IntN(12); k > 0 {
			r = fmt.Sprintf("r%d", k%7) // a few hot routes
		}
		if rand.IntN(50) == 0 {
			r = fmt.Sprintf("cold%d", i)
		}
		it := sitem{route: r, seq: seqs[r], id: i}
		seqs[r]++
		if !p.Submit(context.Background(), r, it) {
			t.Fatalf("Submit refused before Stop")
		}
		submitted++
	}
	close(stopPR)
	prDone.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range submitted {
		if seen[id] != 1 {
			t.Fatalf("item %d handled or released %d times, want 1 (submitted %d)", id, seen[id], submitted)
		}
	}
}

// BenchmarkReviewKeyed: the hand-off cost of routed items with 4 workers.
func BenchmarkReviewKeyed(b *testing.B) {
	routes := make([]string, 256)
	for i := range routes {
		routes[i] = fmt.Sprintf("key-%d", i)
	}
	var wg sync.WaitGroup
	p := New(Options[int]{Workers: 4, QueueLen: 64, Handle: func(_ context.Context, items []int) {
		for range items {
			wg.Done()
		}
	}})
	defer p.Stop(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	wg.Add(b.N)
	for i := range b.N {
		p.Submit(ctx, routes[i&255], i)
	}
	wg.Wait()
}
func BenchmarkReviewFree(b *testing.B) {
	var wg sync.WaitGroup
	p := New(Options[int]{Workers: 4, QueueLen: 64, Handle: func(_ context.Context, items []int) {
		for range items {
			wg.Done()
		}
	}})
	defer p.Stop(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	wg.Add(b.N)
	for i := range b.N {
		p.Submit(ctx, "", i)
	}
	wg.Wait()
}
