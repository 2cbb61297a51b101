package dispatch

import (
	"context"
	"strconv"
	"sync"
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

// TestHeldRouteHoldsOnlyItself: a call that holds its item (route "K")
// holds back the later items of K only — not those of routes that a hash
// would have put on its worker — and K's items come in order once it is
// let go.
func TestHeldRouteHoldsOnlyItself(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan [2]int, 1000)
	p := New(Options[[2]int]{Workers: 4, QueueLen: 100, Handle: func(_ context.Context, items [][2]int) {
		it := items[0]
		if it == [2]int{0, 0} {
			<-release
		}
		handled <- it
	}})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	defer func() {
		let()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Stop(sctx)
	}()
	ctx := context.Background()
	if !p.Submit(ctx, "K", [2]int{0, 0}) {
		t.Fatal("Submit refused")
	}
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	defer scancel()
	for i := 1; i <= 5; i++ {
		p.Submit(sctx, "K", [2]int{0, i})
	}
	for r := 1; r <= 50; r++ {
		for i := range 4 {
			p.Submit(sctx, "r"+strconv.Itoa(r), [2]int{r, i})
		}
	}
	last := map[int]int{}
	for n := 0; n < 200; n++ {
		select {
		case it := <-handled:
			if it[0] == 0 {
				t.Fatalf("item %v of the held route handled before it was let go", it)
			}
			if prev, ok := last[it[0]]; ok && it[1] != prev+1 {
				t.Errorf("route %d: %d after %d", it[0], it[1], prev)
			}
			last[it[0]] = it[1]
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of 200 items of other routes handled while route K is held", n)
		}
	}
	let()
	for i := 0; i <= 5; i++ {
		select {
		case it := <-handled:
			if it != [2]int{0, i} {
				t.Fatalf("route K: %v, want %v", it, [2]int{0, i})
			}
		case <-time.After(5 * time.Second):
			t.Fatal("route K not handled after it was let go")
		}
	}
}

// TestSubmitBoundedAndStopReleases: the pool queues at most QueueLen ×
// Workers items (a Submit past that waits, and gives up with its ctx), and
// Stop releases every queued item of every route.
func TestSubmitBoundedAndStopReleases(t *testing.T) {
	block := make(chan struct{})
	var mu sync.Mutex
	var released []int
	p := New(Options[int]{Workers: 2, QueueLen: 2, Handle: func(context.Context, []int) { <-block },
		Release: func(it int) { mu.Lock(); released = append(released, it); mu.Unlock() }})
	ctx := context.Background()
	p.Submit(ctx, "a", 1)
	p.Submit(ctx, "b", 2)
	time.Sleep(20 * time.Millisecond) // both workers busy
	for i, r := range []string{"a", "b", "", "c"} {
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		ok := p.Submit(sctx, r, 10+i)
		scancel()
		if !ok {
			t.Fatal("Submit refused below the bound")
		}
	}
	defer func() {
		select {
		case <-block:
		default:
			close(block)
		}
	}()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if p.Submit(short, "d", 99) {
		t.Error("Submit past QueueLen × Workers queued items did not wait")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	close(block)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(released) != 4 {
		t.Errorf("released %v, want the 4 queued items", released)
	}
}
