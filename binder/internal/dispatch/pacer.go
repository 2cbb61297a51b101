package dispatch

import "time"

// Pacer says whether a failure of a streak logs at WARN or at DEBUG: the
// first at WARN, then the first after each interval of Every (attempt n
// waiting Every.Delay(n) after the n-th WARN), the others at DEBUG. The
// binders pace with it the WARN lines of a dead letter held for a DLQ that
// refuses it (dlhold.NewPacer's schedule) and of Kafka's failed
// consumer-group joins (a schedule of its own). A Pacer belongs to one
// streak (one held message, one join loop) and is not safe for concurrent
// use.
type Pacer struct {
	Every  Backoff
	warns  int
	warned time.Time
}

// Warn reports whether the failure at now logs at WARN, and records it if
// so.
func (p *Pacer) Warn(now time.Time) bool {
	if p.warns == 0 || now.Sub(p.warned) >= p.Every.Delay(p.warns) {
		p.warns++
		p.warned = now
		return true
	}
	return false
}

// Reset ends the streak: the next failure logs at WARN.
func (p *Pacer) Reset() {
	p.warns = 0
	p.warned = time.Time{}
}
