// Package pace paces a warning that repeats for as long as a fault lasts,
// so that the log says it, and how often it came, without a line a
// message.
package pace

import (
	"sync"
	"time"
)

// Default bounds of a [Gate]'s interval.
const (
	DefaultMin = time.Second
	DefaultMax = time.Minute
)

// Gate lets a repeated warning through at growing intervals — Min,
// doubling up to Max while it keeps coming, back to Min after a quiet
// spell of more than twice the interval — and says how many it held
// back. With Min equal to Max it lets one through per Min. The zero value
// is ready, with [DefaultMin] and [DefaultMax]. A Gate must not be copied
// after first use.
type Gate struct {
	// Min is the first interval (0: DefaultMin); Max the longest (0:
	// DefaultMax; below Min: Min).
	Min, Max time.Duration

	mu         sync.Mutex
	last       time.Time     // the last warning let through
	every      time.Duration // the interval after last
	suppressed int           // held back since last
}

// Allow reports whether the warning at now is let through and, if so, how
// many were held back since the last one let through.
func (g *Gate) Allow(now time.Time) (ok bool, suppressed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	lo, hi := g.bounds()
	if !g.last.IsZero() && now.Sub(g.last) < g.every {
		g.suppressed++
		return false, 0
	}
	if !g.last.IsZero() && now.Sub(g.last) < 2*g.every {
		g.every = min(2*g.every, hi) // the fault goes on
	} else {
		g.every = lo
	}
	g.last = now
	suppressed, g.suppressed = g.suppressed, 0
	return true, suppressed
}

func (g *Gate) bounds() (lo, hi time.Duration) {
	lo, hi = g.Min, g.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	return lo, max(lo, hi)
}
