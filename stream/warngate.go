package stream

import (
	"sync"
	"time"
)

// warnGate lets a warning that repeats for as long as a fault lasts (an
// output's broker refusing every send: the input is redelivered and fails
// again every redelivery-delay) through at growing intervals — 1s,
// doubling to a minute while it keeps coming, back to 1s after a quiet
// spell — and says how many it held back. Without it a refused output
// destination logged a WARN three times a second for as long as it was
// refused (about 12,000 lines an hour). The zero value is ready.
type warnGate struct {
	mu         sync.Mutex
	last       time.Time     // the last warning let through
	every      time.Duration // the interval after last
	suppressed int           // held back since last
}

const (
	warnGateMin = time.Second
	warnGateMax = time.Minute
)

// allow reports whether the warning at now is let through and, if so,
// how many were held back since the last one let through.
func (g *warnGate) allow(now time.Time) (ok bool, suppressed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.last.IsZero() && now.Sub(g.last) < g.every {
		g.suppressed++
		return false, 0
	}
	if !g.last.IsZero() && now.Sub(g.last) < 2*g.every {
		g.every = min(2*g.every, warnGateMax) // the fault goes on
	} else {
		g.every = warnGateMin
	}
	g.last = now
	suppressed, g.suppressed = g.suppressed, 0
	return true, suppressed
}
