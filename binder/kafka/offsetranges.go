package kafka

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// offsetRange is the offsets lo to hi, both included.
type offsetRange struct{ lo, hi int64 }

// offsetRanges is a set of offsets kept as sorted, disjoint ranges, no two
// of which touch (3-5 and 6-8 are one range, 3-8): the dead-letter
// store's removed and skipped offsets, which a filtered replay behind a
// kept dead letter (removed) and a topic written in transactions
// (skipped: a marker after each dead letter) make long runs of. Adding
// an offset costs O(log r + r) in the number of ranges r (a binary search
// and at worst one insertion into the slice), looking one up O(log r);
// nothing is per offset.
type offsetRanges struct{ r []offsetRange }

// search is the index of the first range that ends at or after off.
func (s *offsetRanges) search(off int64) int {
	return sort.Search(len(s.r), func(i int) bool { return s.r[i].hi >= off })
}

// find is the range holding off.
func (s *offsetRanges) find(off int64) (offsetRange, bool) {
	if i := s.search(off); i < len(s.r) && s.r[i].lo <= off {
		return s.r[i], true
	}
	return offsetRange{}, false
}

func (s *offsetRanges) contains(off int64) bool {
	_, ok := s.find(off)
	return ok
}

// add adds lo to hi (lo <= hi < MaxInt64), merging the ranges it
// overlaps or touches; the index of the range holding them is returned.
func (s *offsetRanges) add(lo, hi int64) int {
	// The first range that ends at or after lo-1 (touches or follows),
	// and the first that starts after hi+1 (follows without touching).
	i := s.search(lo - 1)
	j := i
	for j < len(s.r) && s.r[j].lo <= hi+1 {
		j++
	}
	if i == j {
		s.r = slices.Insert(s.r, i, offsetRange{lo, hi})
		return i
	}
	s.r[i] = offsetRange{min(lo, s.r[i].lo), max(hi, s.r[j-1].hi)}
	s.r = slices.Delete(s.r, i+1, j)
	return i
}

// trimBelow removes the offsets before off.
func (s *offsetRanges) trimBelow(off int64) {
	i := s.search(off)
	if i < len(s.r) && s.r[i].lo < off {
		s.r[i].lo = off
	}
	s.r = slices.Delete(s.r, 0, i)
}

// clone is a copy of s (O(r): a Remove works on one, so that a failed
// commit leaves the cursor's set as it was).
func (s *offsetRanges) clone() offsetRanges {
	return offsetRanges{r: slices.Clone(s.r)}
}

// countIn is how many offsets of s lie in [from, to).
func (s *offsetRanges) countIn(from, to int64) int64 {
	var n int64
	for i := s.search(from); i < len(s.r) && s.r[i].lo < to; i++ {
		n += min(s.r[i].hi+1, to) - max(s.r[i].lo, from)
	}
	return n
}

// countBoth is how many offsets lie in [from, to) in both s and t.
func (s *offsetRanges) countBoth(t *offsetRanges, from, to int64) int64 {
	var n int64
	i, j := s.search(from), t.search(from)
	for i < len(s.r) && j < len(t.r) {
		a, b := s.r[i], t.r[j]
		lo, hi := max(a.lo, b.lo, from), min(a.hi+1, b.hi+1, to)
		if hi > lo {
			n += hi - lo
		}
		if a.lo >= to || b.lo >= to {
			break
		}
		if a.hi < b.hi {
			i++
		} else {
			j++
		}
	}
	return n
}

// bridge merges the ranges of s, from index i on while they start at or
// before hi+1, with the next one when every offset between them is in
// gaps (formatRemoved's ranges span the skipped offsets between two
// removed ones: a cursor passes over those anyway).
func (s *offsetRanges) bridge(gaps *offsetRanges, i int, hi int64) {
	i = max(i, 0)
	for i+1 < len(s.r) && s.r[i].lo <= hi+1 {
		g, ok := gaps.find(s.r[i].hi + 1)
		if ok && g.hi >= s.r[i+1].lo-1 {
			s.r[i].hi = s.r[i+1].hi
			s.r = slices.Delete(s.r, i+1, i+2)
			continue
		}
		i++
	}
}

// format writes the ranges at or after from as the commit's metadata,
// "streambind-dlq-removed:7,9-12" ("" when there are none): the format
// that every running streambind reads (parseRemoved).
func (s *offsetRanges) format(from int64) string {
	i := s.search(from)
	if i == len(s.r) {
		return ""
	}
	var b strings.Builder
	b.WriteString(removedPrefix)
	for k, r := range s.r[i:] {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(max(r.lo, from), 10))
		if r.hi > max(r.lo, from) {
			b.WriteByte('-')
			b.WriteString(strconv.FormatInt(r.hi, 10))
		}
	}
	return b.String()
}

// maxRemovedRanges bounds the ranges parseRemoved reads from one
// partition's commit metadata (16 bytes each: 16 MiB). A broker keeps at
// most offset.metadata.max.bytes of it (4096 by default) and every range
// takes at least two of those bytes, so only a broker configured to keep
// more than 2 MiB of metadata per partition holds more; formatRemoved
// never writes more than maxRemovedMetadata bytes.
const maxRemovedRanges = 1 << 20

// errTooManyRanges: the metadata holds more than maxRemovedRanges ranges.
type errTooManyRanges struct{ n int }

func (e errTooManyRanges) Error() string {
	return "the commit metadata lists more than " + strconv.Itoa(e.n) + " ranges of removed dead letters"
}

// parseRemoved reads formatRemoved's list as ranges, whatever their
// length (they are never expanded to offsets): metadata without the
// prefix, or malformed, is no list (nil, nil). More than
// maxRemovedRanges ranges is an error: ignoring the list would return the
// dead letters it names, which were removed, again.
func parseRemoved(meta string) (offsetRanges, error) {
	list, ok := strings.CutPrefix(meta, removedPrefix)
	if !ok {
		return offsetRanges{}, nil
	}
	n := strings.Count(list, ",") + 1
	if n > maxRemovedRanges {
		return offsetRanges{}, errTooManyRanges{maxRemovedRanges}
	}
	rs := make([]offsetRange, 0, n)
	for range n {
		var item string
		item, list, _ = strings.Cut(list, ",")
		a, b, isRange := strings.Cut(item, "-")
		lo, err := strconv.ParseInt(a, 10, 64)
		if err != nil || lo < 0 {
			return offsetRanges{}, nil
		}
		hi := lo
		if isRange {
			if hi, err = strconv.ParseInt(b, 10, 64); err != nil || hi < lo {
				return offsetRanges{}, nil
			}
		}
		if hi == math.MaxInt64 {
			return offsetRanges{}, nil // no offset; hi+1 would overflow
		}
		rs = append(rs, offsetRange{lo, hi})
	}
	// formatRemoved writes them sorted and apart; other input is sorted
	// and merged here (O(r log r), not one insertion each).
	slices.SortFunc(rs, func(x, y offsetRange) int {
		if x.lo < y.lo {
			return -1
		}
		if x.lo > y.lo {
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if k := len(out) - 1; k >= 0 && r.lo <= out[k].hi+1 {
			out[k].hi = max(out[k].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return offsetRanges{r: out}, nil
}
