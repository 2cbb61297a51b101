package stream

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestInflightCounts: begins and ends from several goroutines, with
// messages of seconds that share a slot (inflightSlots apart) and some
// that last while their slot is taken by later seconds, leave the
// counts exact: while they run, snapshot counts every one and dates the
// oldest; once all ended, nothing.
func TestInflightCounts(t *testing.T) {
	var f inflight
	const workers, per = 8, 5000
	var wg sync.WaitGroup
	type running struct{ sec int64 }
	held := make(chan running, workers*per)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range per {
				// Seconds 1000..1000+4*inflightSlots: slots are shared.
				start := time.Duration(1000+r.IntN(4*inflightSlots)) * time.Second
				sec := f.begin(start, 1)
				if sec != int64(start/time.Second) {
					t.Errorf("begin(%s) returned %d", start, sec)
				}
				if r.IntN(10) == 0 {
					held <- running{sec} // ends after the others
					continue
				}
				f.end(sec, 1)
			}
		})
	}
	wg.Wait()
	close(held)
	var left []running
	oldestSec := int64(-1)
	for h := range held {
		left = append(left, h)
		if oldestSec < 0 || h.sec < oldestSec {
			oldestSec = h.sec
		}
	}
	now := 2000 * time.Second
	n, oldest := f.snapshot(now)
	if n != int64(len(left)) {
		t.Fatalf("snapshot counts %d in flight; want %d", n, len(left))
	}
	if want := now - time.Duration(oldestSec)*time.Second; oldest != want {
		t.Fatalf("oldest %s; want %s", oldest, want)
	}
	// End the held ones concurrently with new, short ones in later seconds.
	var wg2 sync.WaitGroup
	for i, h := range left {
		wg2.Go(func() {
			f.end(h.sec, 1)
			s := f.begin(time.Duration(1500+i%inflightSlots)*time.Second, 1)
			f.end(s, 1)
		})
	}
	wg2.Wait()
	if n, oldest := f.snapshot(now); n != 0 || oldest != 0 {
		t.Fatalf("after every message ended: %d in flight, oldest %s; want 0, 0", n, oldest)
	}
}

// TestInflightBatch: a batch counts as its messages, in its slot and when
// its slot is taken by a later second meanwhile (review: a batch counted
// as one message).
func TestInflightBatch(t *testing.T) {
	var f inflight
	sec := f.begin(10*time.Second, 5)
	if n, _ := f.snapshot(11 * time.Second); n != 5 {
		t.Fatalf("a batch of 5 in flight: %d", n)
	}
	later := f.begin((10+inflightSlots)*time.Second, 3) // moves the batch to old
	if n, oldest := f.snapshot((11 + inflightSlots) * time.Second); n != 8 || oldest != (1+inflightSlots)*time.Second {
		t.Fatalf("after the slot moved on: %d in flight, oldest %s; want 8, %s", n, oldest, (1+inflightSlots)*time.Second)
	}
	f.end(sec, 5)
	f.end(later, 3)
	if n, oldest := f.snapshot(100 * time.Second); n != 0 || oldest != 0 {
		t.Fatalf("after both ended: %d, %s", n, oldest)
	}
}
