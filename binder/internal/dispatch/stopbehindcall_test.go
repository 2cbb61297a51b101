package dispatch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestStopReleasesBehindCallAfterIt: the items queued behind a call in
// flight in their route are released by Stop only once that call returned,
// so that they are given back after what the call gives back (a Nak of
// its item at shutdown): the NATS binder gave a key's later messages back
// before the one whose back-off the shutdown cut short, and JetStream
// redelivered them first (ShutdownKeepsOrder/one-key-concurrency-4 of
// binder/bindertest). With several workers (a route's FIFO) and with one
// (batch mode: every item in one FIFO); another route's items, with no
// call in flight, are released at once.
func TestStopReleasesBehindCallAfterIt(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("workers-%d", workers), func(t *testing.T) {
			var mu sync.Mutex
			var log []string
			add := func(s string) {
				mu.Lock()
				log = append(log, s)
				mu.Unlock()
			}
			entered, unblock := make(chan struct{}), make(chan struct{})
			otherReleased := make(chan struct{})
			p := New(Options[string]{Workers: workers, QueueLen: 8, Batch: 1,
				Handle: func(_ context.Context, items []string) {
					if items[0] != "k1" {
						add("handled " + items[0])
						return
					}
					close(entered)
					<-unblock
					add("k1 given back in its call")
				},
				Release: func(it string) {
					add("released " + it)
					if it == "o1" {
						close(otherReleased)
					}
				}})
			drained := make(chan struct{})
			p.onDrained = func() { close(drained) }
			if !p.Submit(context.Background(), "k", "k1") {
				t.Fatal("refused")
			}
			<-entered
			for _, it := range []string{"k2", "k3"} {
				if !p.Submit(context.Background(), "k", it) {
					t.Fatal("refused")
				}
			}
			if workers > 1 {
				// A route no call is in: released at once by Stop.
				// With several idle workers o1 might be taken first:
				// submitted while the pool is paused, it is not.
				ended, cancel := context.WithCancel(context.Background())
				cancel()
				if err := p.Pause(ended); err == nil {
					t.Fatal("Pause returned nil with k1's call in flight")
				}
			}
			stopped := make(chan error, 1)
			if workers > 1 {
				_ = p.Submit(context.Background(), "o", "o1")
			}
			go func() { stopped <- p.Stop(context.Background()) }()
			<-drained // what Stop released at once is released by now
			if workers > 1 {
				<-otherReleased
			}
			close(unblock)
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			var route []string
			for _, s := range log {
				if s != "released o1" {
					route = append(route, s)
				}
			}
			want := []string{"k1 given back in its call", "released k2", "released k3"}
			if !slices.Equal(route, want) {
				t.Errorf("route k: %q, want %q (all: %q)", route, want, log)
			}
		})
	}
}
