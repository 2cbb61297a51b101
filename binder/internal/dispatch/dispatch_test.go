package dispatch

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestOrderPerRoute: items of one route are handled one at a time and in
// order, items of different routes concurrently.
func TestOrderPerRoute(t *testing.T) {
	const routes, each = 6, 200
	var mu sync.Mutex
	last := map[string]int{}
	busy := map[string]bool{}
	top, active := 0, 0
	done := make(chan struct{})
	n := 0
	p := New(Options[[2]int]{Workers: 4, QueueLen: 8, Handle: func(_ context.Context, items [][2]int) {
		it := items[0]
		r := strconv.Itoa(it[0])
		mu.Lock()
		if busy[r] {
			t.Errorf("route %s: two items at once", r)
		}
		if prev, ok := last[r]; ok && it[1] != prev+1 {
			t.Errorf("route %s: %d after %d", r, it[1], prev)
		}
		busy[r], last[r] = true, it[1]
		active++
		top = max(top, active)
		mu.Unlock()
		time.Sleep(50 * time.Microsecond)
		mu.Lock()
		busy[r] = false
		active--
		n++
		if n == routes*each {
			close(done)
		}
		mu.Unlock()
	}})
	for i := range each {
		for r := range routes {
			if !p.Submit(context.Background(), strconv.Itoa(r), [2]int{r, i}) {
				t.Fatal("Submit refused")
			}
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("not every item was handled")
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if top < 2 {
		t.Errorf("at most %d handler calls at once, want concurrency", top)
	}
}

// TestPauseStopRelease: nothing is handled while paused; Stop releases
// what is queued, and a handler still running when Stop's ctx ends sees
// its ctx cancelled.
func TestPauseStopRelease(t *testing.T) {
	started := make(chan int, 10)
	block := make(chan struct{})
	var mu sync.Mutex
	var released []int
	p := New(Options[int]{Workers: 1, QueueLen: 10,
		Handle: func(ctx context.Context, items []int) {
			started <- items[0]
			if items[0] == 0 {
				select {
				case <-block:
				case <-ctx.Done():
				}
			}
		},
		Release: func(i int) { mu.Lock(); released = append(released, i); mu.Unlock() },
	})
	p.Submit(context.Background(), "", 0)
	<-started
	pctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := p.Pause(pctx); err == nil {
		t.Error("Pause returned with a handler call in flight")
	}
	cancel()
	for i := 1; i <= 3; i++ {
		p.Submit(context.Background(), "", i)
	}
	close(block)
	if err := p.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case i := <-started:
		t.Fatalf("item %d handled while paused", i)
	case <-time.After(100 * time.Millisecond):
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	mu.Lock()
	defer mu.Unlock()
	if len(released) != 3 {
		t.Errorf("released %v, want the 3 queued items", released)
	}
	if p.Submit(context.Background(), "", 9) {
		t.Error("Submit after Stop accepted an item")
	}
}

// TestHold: a call that holds its items is not in flight for Pause while
// it waits, does not go on while the pool is paused, goes on after Resume,
// and learns of Stop at once.
func TestHold(t *testing.T) {
	const hold = 150 * time.Millisecond
	holding := make(chan struct{}, 1)
	result := make(chan bool, 1)
	var resumedAt time.Time
	var mu sync.Mutex
	var p *Pool[int]
	p = New(Options[int]{Workers: 1, QueueLen: 4, Handle: func(_ context.Context, _ []int) {
		holding <- struct{}{}
		start := time.Now()
		ok := p.Hold(hold)
		mu.Lock()
		resumedAt = time.Now()
		mu.Unlock()
		if ok && time.Since(start) < hold {
			t.Errorf("Hold returned after %s, want at least %s", time.Since(start), hold)
		}
		result <- ok
	}})
	p.Submit(context.Background(), "", 1)
	<-holding
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := p.Pause(ctx); err != nil {
		t.Fatalf("Pause waited for a call that holds its items: %v", err)
	}
	cancel()
	select {
	case ok := <-result:
		t.Fatalf("Hold returned %v while the pool was paused", ok)
	case <-time.After(hold + 150*time.Millisecond):
	}
	before := time.Now()
	p.Resume()
	if ok := <-result; !ok {
		t.Fatal("Hold returned false after Resume, want true")
	}
	mu.Lock()
	if resumedAt.Before(before) {
		t.Error("Hold returned before Resume")
	}
	mu.Unlock()

	// A hold that Stop interrupts returns false at once.
	p.Submit(context.Background(), "", 2)
	<-holding
	stopped := time.Now()
	go func() { _ = p.Stop(context.Background()) }()
	if ok := <-result; ok {
		t.Error("Hold returned true after Stop, want false")
	}
	if d := time.Since(stopped); d > hold/2 {
		t.Errorf("Hold noticed Stop after %s", d)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the pool did not stop")
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for a, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 10: time.Second} {
		if d := b.Delay(a); d < want*8/10 || d > want*12/10 {
			t.Errorf("Delay(%d) = %s, want %s ±20%%", a, d, want)
		}
	}
}

// TestHandOffDoesNotAllocate: handing an item to a worker costs no
// allocation (Pause's wait channel is made only when a Pause waits).
func TestHandOffDoesNotAllocate(t *testing.T) {
	done := make(chan struct{}, 1)
	p := New(Options[int]{Workers: 1, QueueLen: 1, Handle: func(context.Context, []int) { done <- struct{}{} }})
	defer p.Stop(context.Background())
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		p.Submit(ctx, "", 1)
		<-done
	})
	if allocs >= 1 {
		t.Errorf("%.2f allocations per item handed off, want none", allocs)
	}
}

// TestInline: Submit handles the item itself, one call at a time across
// submitters; while paused it waits (until Resume, or its ctx ends: false,
// not handled); its ctx ending ends a Hold; Stop during a call is done
// once the call returned, and later Submits are refused.
func TestInline(t *testing.T) {
	var mu sync.Mutex
	active, top, n := 0, 0, 0
	entered := make(chan int, 1)
	block := make(chan struct{})
	held := make(chan bool, 1)
	var p *Pool[int]
	p = New(Options[int]{Inline: true, Handle: func(_ context.Context, items []int) {
		mu.Lock()
		active++
		top = max(top, active)
		n++
		mu.Unlock()
		switch items[0] {
		case -1:
			entered <- -1
			<-block
		case -2:
			entered <- -2
			held <- p.Hold(time.Hour)
		}
		mu.Lock()
		active--
		mu.Unlock()
	}})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 100 {
				if !p.Submit(context.Background(), "", i) {
					t.Error("Submit refused")
				}
			}
		})
	}
	wg.Wait()
	if top != 1 || n != 400 {
		t.Errorf("%d calls, at most %d at once; want 400, 1", n, top)
	}

	if err := p.Pause(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if p.Submit(ctx, "", 1) {
		t.Error("Submit handled an item while paused")
	}
	cancel()
	resumed := make(chan bool)
	go func() { resumed <- p.Submit(context.Background(), "", 2) }()
	time.Sleep(20 * time.Millisecond) // let it wait, if it would
	p.Resume()
	if !<-resumed {
		t.Error("Submit waiting while paused refused after Resume")
	}

	ctx, cancel = context.WithCancel(context.Background())
	go p.Submit(ctx, "", -2)
	<-entered
	cancel()
	select {
	case ok := <-held:
		if ok {
			t.Error("Hold returned true after the Submit's ctx ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Hold did not notice its Submit's ctx ending")
	}

	go p.Submit(context.Background(), "", -1)
	<-entered
	go func() { _ = p.Stop(context.Background()) }()
	select {
	case <-p.Done():
		t.Fatal("Done before the call in progress returned")
	case <-time.After(50 * time.Millisecond):
	}
	close(block)
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the pool did not stop")
	}
	if p.Submit(context.Background(), "", 3) {
		t.Error("Submit after Stop accepted an item")
	}
}
