// Package msgid makes the ids producers give messages sent without one
// (CONVENTIONS: "Every message carries a message id"): a random
// per-generator prefix and a counter, unique within the generator's life
// and, through the prefix, across generators and processes.
//
// Ids are made blockLen at a time into one string and handed out as
// substrings of it: the same bytes and time as a string an id, in a
// sixteenth of the allocations (the in-process binder's pipeline makes two
// ids a delivery). A kept id keeps its block (blockLen ids, about 0.7 kB)
// alive, so a store that keeps a few ids of many copies them
// (strings.Clone).
package msgid

import (
	"strconv"
	"sync/atomic"
	"unsafe"
)

// blockLen is how many ids one allocation holds.
const blockLen = 16

// Generator makes message ids. Safe for concurrent use, without a lock:
// an id is a function of its counter value alone, so two callers that
// both find the current block stale each make the one they need and
// neither hands out an id twice. The zero value is not usable (see New).
type Generator struct {
	prefix string
	seq    atomic.Uint64 // ids handed out
	cur    atomic.Pointer[block]
}

// block holds the ids first+1 … first+blockLen back to back in s.
type block struct {
	first uint64
	s     string
	ends  [blockLen]uint16 // end offset of each id in s
}

// New returns a generator whose ids start with prefix (a random string:
// a UUID or a NUID, say) and a dash.
func New(prefix string) *Generator {
	return &Generator{prefix: prefix + "-"}
}

// Next returns an id no earlier call of this generator returned: the
// prefix, a dash and the counter in base 36 (1, 2, … z, 10, …).
func (g *Generator) Next() string {
	n := g.seq.Add(1) - 1 // 0-based
	first := n - n%blockLen
	b := g.cur.Load()
	if b == nil || b.first != first {
		b = g.fill(first)
		if old := g.cur.Load(); old == nil || old.first < first {
			g.cur.CompareAndSwap(old, b) // lost to a newer block: ours served its id
		}
	}
	i := n - first
	start := 0
	if i > 0 {
		start = int(b.ends[i-1])
	}
	return b.s[start:b.ends[i]]
}

// fill makes the block of ids first+1 … first+blockLen.
func (g *Generator) fill(first uint64) *block {
	b := &block{first: first}
	digits := 1 // of the block's largest counter, in base 36
	for v := (first + blockLen) / 36; v > 0; v /= 36 {
		digits++
	}
	buf := make([]byte, 0, blockLen*(len(g.prefix)+digits))
	// The first counter is formatted, the others are the one before plus
	// one, counted in its digits (strconv's base 36: 0-9, a-z): a third of
	// the time of formatting each.
	var num [16]byte // a uint64 has at most 13 digits in base 36
	d := strconv.AppendUint(num[:0], first+1, 36)
	for i := range blockLen {
		buf = append(buf, g.prefix...)
		buf = append(buf, d...)
		b.ends[i] = uint16(len(buf))
		d = inc36(d)
	}
	b.s = unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is not written again
	return b
}

// inc36 returns d, the base-36 digits of a number as strconv writes them
// (0-9, a-z), plus one; a carry past the first digit (z → 10) appends to d.
func inc36(d []byte) []byte {
	for i := len(d) - 1; i >= 0; i-- {
		switch d[i] {
		case 'z':
			d[i] = '0' // and carry
		case '9':
			d[i] = 'a'
			return d
		default:
			d[i]++
			return d
		}
	}
	d[0] = '1' // every digit was z and is now 0
	return append(d, '0')
}
