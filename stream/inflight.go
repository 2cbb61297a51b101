package stream

import (
	"sync"
	"sync/atomic"
	"time"
)

// inflight counts an input binding's messages in handling — from the
// first attempt's start until the handler returned and, for a function,
// the broker stored its output, as HandlerTime times them — by the second
// they started in, so that the oldest one's age can be told (a handler
// that does not return shows) without a record per message.
//
// A message costs an atomic load and a compare-and-swap at its begin and
// at its end: each of inflightSlots slots packs a second (since
// clockBase) and how many messages that began in it are in handling. A
// message that begins while its slot still counts messages of a second
// inflightSlots earlier (handlers running that long) moves that count to
// old, under mu; those messages end there.
type inflight struct {
	slots [inflightSlots]atomic.Uint64 // sec<<inflightBits | count

	mu  sync.Mutex
	old map[int64]int64 // second → messages, moved out of their slot
}

const (
	inflightSlots = 64
	inflightBits  = 24 // count bits: 16M messages a second and slot
	inflightMask  = 1<<inflightBits - 1
)

// begin counts k messages (a batch's, or one) that started at start
// (since clockBase) and returns what end takes.
func (f *inflight) begin(start time.Duration, k int) int64 {
	sec := int64(start / time.Second)
	s := &f.slots[sec%inflightSlots]
	add := uint64(max(k, 0))
	for {
		v := s.Load()
		at, n := int64(v>>inflightBits), v&inflightMask
		switch {
		case at == sec && n+add <= inflightMask:
			if s.CompareAndSwap(v, v+add) {
				return sec
			}
		case n == 0 && add <= inflightMask:
			if s.CompareAndSwap(v, uint64(sec)<<inflightBits|add) {
				return sec
			}
		default:
			// The slot counts another second's messages (an earlier one's
			// still running; or this message began long before it was
			// counted) or is full.
			f.mu.Lock()
			if at < sec && add <= inflightMask && s.CompareAndSwap(v, uint64(sec)<<inflightBits|add) {
				f.addOld(at, int64(n))
			} else {
				f.addOld(sec, int64(add))
			}
			f.mu.Unlock()
			return sec
		}
	}
}

// end counts the k messages begin returned sec for as finished.
func (f *inflight) end(sec int64, k int) {
	s := &f.slots[sec%inflightSlots]
	sub := uint64(max(k, 0))
	for {
		v := s.Load()
		if int64(v>>inflightBits) == sec && v&inflightMask >= sub {
			if s.CompareAndSwap(v, v-sub) {
				return
			}
			continue
		}
		f.mu.Lock()
		if v2 := s.Load(); v2 != v {
			f.mu.Unlock() // changed meanwhile: look again
			continue
		}
		f.addOld(sec, -int64(sub))
		f.mu.Unlock()
		return
	}
}

// addOld adds n to old[sec]. The caller holds mu.
func (f *inflight) addOld(sec, n int64) {
	if f.old == nil {
		f.old = make(map[int64]int64)
	}
	if c := f.old[sec] + n; c != 0 {
		f.old[sec] = c
	} else {
		delete(f.old, sec)
	}
}

// snapshot returns how many messages are in handling and how long the
// oldest of them has been (0 when none), at now (since clockBase); the
// age is rounded up to the start of the second the oldest began in, so
// it is at most 1s over. A second's messages are summed over its slot
// and old first: one counted in one may have ended in the other.
func (f *inflight) snapshot(now time.Duration) (n int64, oldest time.Duration) {
	bySec := make(map[int64]int64)
	f.mu.Lock()
	for sec, c := range f.old {
		bySec[sec] += c
	}
	f.mu.Unlock()
	for i := range f.slots {
		if v := f.slots[i].Load(); v&inflightMask > 0 {
			bySec[int64(v>>inflightBits)] += int64(v & inflightMask)
		}
	}
	first := int64(-1)
	for sec, c := range bySec {
		if c > 0 {
			n += c
			if first < 0 || sec < first {
				first = sec
			}
		}
	}
	if first < 0 {
		return 0, 0
	}
	return n, max(now-time.Duration(first)*time.Second, 0)
}

// holding is ConsumerSpec.Holding: k messages a binder holds after their
// handler returned count in flight from now until release.
func (s *bindingStats) holding(k int) (release func()) {
	sec := s.handling.begin(time.Since(clockBase), k)
	var once sync.Once
	return func() { once.Do(func() { s.handling.end(sec, k) }) }
}
