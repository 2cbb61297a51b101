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

// A block's ids are its counters as strconv formats them also where a
// counter gains a digit past the first few (36^k - 1 → 36^k), up to the
// 13 digits of a uint64.
func TestFillCountsAsStrconv(t *testing.T) {
	g := New("p")
	pow := uint64(1)
	for k := 1; k <= 12; k++ {
		pow *= 36
		first := pow - pow%blockLen - blockLen/2 // a block that crosses 36^k or ends just before it
		for _, f := range []uint64{first, pow - pow%blockLen} {
			b := g.fill(f)
			start := 0
			for i := range uint64(blockLen) {
				got := b.s[start:b.ends[i]]
				start = int(b.ends[i])
				if want := "p-" + strconv.FormatUint(f+i+1, 36); got != want {
					t.Fatalf("block at %d: id %d = %q, want %q", f, i, got, want)
				}
			}
		}
	}
}
