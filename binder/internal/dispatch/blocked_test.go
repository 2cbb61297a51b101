package dispatch

import (
	"context"
	"testing"
	"time"
)

// TestBlocked: Blocked counts the queued items that wait behind an
// earlier item of their route — all of a busy route's queued items, all
// but the first of an idle one — and neither keyless items nor the items
// in handlers; it follows the routes as they are taken and settled, and
// is 0 after Stop.
func TestBlocked(t *testing.T) {
	started := make(chan string, 16)
	// Each item's handler waits for its own gate: a shared release
	// channel let an item started later take a release meant for an
	// earlier one (b1 ends, b2 starts and takes the next release, ...),
	// so fewer items than expected started (a CI failure).
	gates := map[string]chan struct{}{}
	for _, it := range []string{"a1", "a2", "a3", "free", "b1", "b2"} {
		gates[it] = make(chan struct{})
	}
	p := New(Options[string]{Workers: 3, QueueLen: 8, Handle: func(ctx context.Context, items []string) {
		started <- items[0]
		<-gates[items[0]]
	}})
	ctx := context.Background()
	want := func(n int, when string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for p.Blocked() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: Blocked %d, want %d", when, p.Blocked(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	take := func(want string) {
		t.Helper()
		select {
		case got := <-started:
			if got != want {
				t.Fatalf("handler started %s, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s not started", want)
		}
	}
	for _, it := range []string{"a1", "a2", "a3"} {
		p.Submit(ctx, "a", it)
	}
	take("a1") // a busy: a2, a3 behind it
	want(2, "a1 in a handler, a2 and a3 queued")
	p.Submit(ctx, "", "free")
	take("free")
	want(2, "a keyless item in a handler")
	p.Submit(ctx, "b", "b1")
	take("b1")
	p.Submit(ctx, "b", "b2")
	want(3, "b1 in a handler, b2 queued")
	for _, it := range []string{"a1", "free", "b1"} { // they end
		close(gates[it])
	}
	got := map[string]bool{}
	for range 2 { // a2 and b2 start (3 workers)
		select {
		case it := <-started:
			got[it] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("a2 and b2 not started (started: %v)", got)
		}
	}
	if !got["a2"] || !got["b2"] {
		t.Fatalf("started %v, want a2 and b2", got)
	}
	want(1, "a2 and b2 in handlers, a3 behind a2")
	for _, it := range []string{"a2", "a3", "b2"} {
		close(gates[it])
	}
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	want(0, "after Stop")
}
