package msgid

import (
	"strconv"
	"sync"
	"testing"
)

// The n-th id is the prefix, a dash and n in base 36, across blocks and
// where the counter gains a digit (z → 10, zz → 100).
func TestNextIsPrefixAndCounter(t *testing.T) {
	g := New("p")
	for n := uint64(1); n <= 36*36+3*blockLen; n++ {
		if got, want := g.Next(), "p-"+strconv.FormatUint(n, 36); got != want {
			t.Fatalf("id %d = %q, want %q", n, got, want)
		}
	}
}

// An id handed out stays what it was when the generator fills new blocks
// (the blocks are new strings, not a reused buffer).
func TestIDsStayIntactAcrossBlocks(t *testing.T) {
	g := New("q")
	first := g.Next()
	for range 5 * blockLen {
		g.Next()
	}
	if first != "q-1" {
		t.Fatalf("first id became %q", first)
	}
}

func TestNextConcurrent(t *testing.T) {
	g := New("c")
	const goroutines, each = 8, 1000
	var mu sync.Mutex
	seen := make(map[string]bool, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			ids := make([]string, 0, each)
			for range each {
				ids = append(ids, g.Next())
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if seen[id] {
					t.Errorf("id %q returned twice", id)
				}
				seen[id] = true
			}
		})
	}
	wg.Wait()
	if len(seen) != goroutines*each {
		t.Fatalf("%d distinct ids, want %d", len(seen), goroutines*each)
	}
}

func BenchmarkNext(b *testing.B) {
	g := New("0f8fad5b-d9cb-469f-a165-70867728950e")
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Next()
	}
}

func BenchmarkOneAllocation(b *testing.B) {
	prefix := "0f8fad5b-d9cb-469f-a165-70867728950e-"
	var seq uint64
	b.ReportAllocs()
	for b.Loop() {
		seq++
		var buf [64]byte
		_ = string(strconv.AppendUint(append(buf[:0], prefix...), seq, 36))
	}
}
