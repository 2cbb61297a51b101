package kafka

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rangesOf is the set of offs.
func rangesOf(offs ...int64) offsetRanges {
	var s offsetRanges
	for _, o := range offs {
		s.add(o, o)
	}
	return s
}

func TestOffsetRanges(t *testing.T) {
	s := rangesOf(9, 3, 5, 7, 6, 1)
	if want := []offsetRange{{1, 1}, {3, 3}, {5, 7}, {9, 9}}; !slices.Equal(s.r, want) {
		t.Fatalf("add: %v, want %v", s.r, want)
	}
	s.add(2, 2) // touches 1 and 3
	s.add(10, 20)
	s.add(15, 25) // overlaps
	if want := []offsetRange{{1, 3}, {5, 7}, {9, 25}}; !slices.Equal(s.r, want) {
		t.Fatalf("add: %v, want %v", s.r, want)
	}
	for off, want := range map[int64]bool{0: false, 1: true, 3: true, 4: false, 7: true, 8: false, 9: true, 25: true, 26: false} {
		if s.contains(off) != want {
			t.Errorf("contains(%d) = %v", off, !want)
		}
	}
	if n := s.countIn(2, 10); n != 2+3+1 {
		t.Errorf("countIn(2, 10) = %d, want 6", n)
	}
	u := rangesOf(3, 4, 5, 6, 24, 25, 26)
	if n := s.countBoth(&u, 0, 100); n != 1+2+2 { // 3; 5 6; 24 25
		t.Errorf("countBoth = %d, want 5", n)
	}
	if n := s.countBoth(&u, 4, 25); n != 3 { // 5 6 24
		t.Errorf("countBoth(4, 25) = %d, want 3", n)
	}
	c := s.clone()
	c.trimBelow(6)
	if want := []offsetRange{{6, 7}, {9, 25}}; !slices.Equal(c.r, want) {
		t.Errorf("trimBelow(6): %v, want %v", c.r, want)
	}
	if len(s.r) != 3 || s.r[1] != (offsetRange{5, 7}) {
		t.Errorf("trimming a clone changed the original: %v", s.r)
	}
	c.trimBelow(100)
	if len(c.r) != 0 {
		t.Errorf("trimBelow(100): %v", c.r)
	}
}

// The removed offsets beyond the committed one survive the round trip
// through the commit metadata, as ranges; other metadata is no list.
func TestRemovedMetadata(t *testing.T) {
	removed := rangesOf(3, 5, 6, 7, 9, 1)
	meta := formatRemoved(&removed, 2)
	if meta != removedPrefix+"3,5-7,9" {
		t.Fatalf("formatRemoved = %q", meta)
	}
	if got, err := parseRemoved(meta); err != nil || !slices.Equal(got.r, []offsetRange{{3, 3}, {5, 7}, {9, 9}}) {
		t.Errorf("parseRemoved = %v, %v", got.r, err)
	}
	if one := rangesOf(1); formatRemoved(&one, 2) != "" {
		t.Error("offsets before the committed one are listed")
	}
	// Ranges span skipped offsets (transaction markers) between removed
	// ones, not a gap holding a dead letter (8), whichever is known
	// first.
	for _, skippedFirst := range []bool{true, false} {
		p := &dlPartition{committed: -1}
		skip := func() {
			for _, o := range []int64{4, 10, 11} {
				p.addSkipped(o)
			}
		}
		if skippedFirst {
			skip()
		}
		for _, o := range []int64{12, 3, 7, 5, 9} {
			p.removed.bridge(&p.skipped, p.removed.add(o, o)-1, o)
		}
		if !skippedFirst {
			skip()
		}
		if meta := formatRemoved(&p.removed, 0); meta != removedPrefix+"3-5,7,9-12" {
			t.Errorf("formatRemoved with skipped offsets (known first: %v) = %q", skippedFirst, meta)
		}
	}
	for _, bad := range []string{"", "x", removedPrefix, removedPrefix + "a", removedPrefix + "5-3", removedPrefix + "-1",
		removedPrefix + "1,", removedPrefix + "1-" + strconv.FormatInt(math.MaxInt64, 10)} {
		if got, err := parseRemoved(bad); err != nil || got.r != nil {
			t.Errorf("parseRemoved(%q) = %v, %v; want no list", bad, got.r, err)
		}
	}
	// Ranges are never expanded to offsets: a list of more than 2^20
	// removed offsets was ignored, and a later cursor returned them all.
	for meta, want := range map[string][]offsetRange{
		removedPrefix + "1-99999999":      {{1, 99999999}},
		removedPrefix + "0,2-1100001":     {{0, 0}, {2, 1100001}},
		removedPrefix + "9,3-5,4-7,8,1-1": {{1, 1}, {3, 9}}, // not formatRemoved's: sorted and merged
	} {
		got, err := parseRemoved(meta)
		if err != nil || !slices.Equal(got.r, want) {
			t.Errorf("parseRemoved(%q) = %v, %v; want %v", meta, got.r, err, want)
		}
	}
	// More ranges than any broker's metadata would hold are refused, not
	// ignored.
	huge := removedPrefix + strings.Repeat("1,", maxRemovedRanges) + "1"
	if _, err := parseRemoved(huge); err == nil {
		t.Error("parseRemoved of more than maxRemovedRanges ranges: no error")
	}
}

// TestDeadLettersRemovalWorkFlat: a filtered replay that keeps the first
// dead letter of a partition written in transactions (a marker after
// each dead letter) and removes the N behind it keeps one removed range
// and writes a short list at each Remove, whatever N: each Remove copied
// and sorted the map of every removed offset (quadratic: 6000 took 4s on
// kfake), and above 2^20 offsets the list it wrote was ignored when read.
// 1,100,000 dead letters are simulated at the store level, without a
// broker. Parallel: see TestDeadLettersRangesStaySmall.
func TestDeadLettersRemovalWorkFlat(t *testing.T) {
	t.Parallel()
	const n = 1_100_000
	p := &dlPartition{committed: -1, last: -1}
	// d0 at 0 (kept), its marker at 1, d1 at 2, marker at 3, …
	p.addSkipped(1)
	for i := int64(1); i <= n; i++ {
		p.addSkipped(2*i + 1) // fetched ahead of the dead letter removed
		if p.last >= 0 && !p.removed.contains(p.last) {
			p.pruneSkipped(p.last)
		}
		p.last = 2 * i
		removed, committed, meta := p.removal(2 * i)
		if committed != 0 {
			t.Fatalf("removal %d: committed %d, want 0 (d0 is kept)", i, committed)
		}
		if len(removed.r) != 1 || len(p.skipped.r) > 3 {
			t.Fatalf("removal %d: %d removed ranges, %d skipped ranges; want 1 and a few", i, len(removed.r), len(p.skipped.r))
		}
		if i == n {
			want := removedPrefix + "2-" + strconv.FormatInt(2*n, 10)
			if meta != want {
				t.Fatalf("metadata %q, want %q", meta, want)
			}
			got, err := parseRemoved(meta)
			if err != nil || !slices.Equal(got.r, []offsetRange{{2, 2 * n}}) {
				t.Fatalf("parseRemoved(%q) = %v, %v", meta, got.r, err)
			}
		}
		p.applyRemoval(2*i, removed, committed)
	}
	// Removing d0 moves the committed offset to the end.
	if _, committed, meta := p.removal(0); committed != 2*n+2 || meta != "" {
		t.Errorf("removing d0: committed %d %q; want %d, nothing listed", committed, meta, 2*n+2)
	}
}
