// Package dlcount keeps a consumer binding's dead-letter counts
// ([stream.DeadLetterStats]) alike on every broker binder of this module.
//
// It is internal to the binders of this module.
package dlcount

import (
	"sync/atomic"

	"github.com/streambind/streambind/stream"
)

// Counts keeps a consumer's [stream.DeadLetterStats]. It is safe
// for concurrent use and its zero value is ready. A binder counts after
// the log line that reports the event, so that what a reader of the counts
// finds is logged.
type Counts struct {
	truncated, headersOnly, dropped atomic.Int64
}

// Fitted counts a dead letter as fitting (stream.FitDeadLetter) left it:
// Truncated when fit cut anything, and HeadersOnly too when its payload
// went. A fit that cut nothing counts nothing.
func (d *Counts) Fitted(fit stream.DeadLetterFit) {
	if len(fit.Cut) == 0 {
		return
	}
	d.truncated.Add(1)
	if fit.HeadersOnly {
		d.headersOnly.Add(1)
	}
}

// Refitted counts a dead letter fitted again (the broker refused the
// first fit, prev, already counted by Fitted) as fit left it: only what
// fit adds to prev, so that the dead letter counts once.
func (d *Counts) Refitted(prev, fit stream.DeadLetterFit) {
	if len(prev.Cut) == 0 && len(fit.Cut) > 0 {
		d.truncated.Add(1)
	}
	if !prev.HeadersOnly && fit.HeadersOnly {
		d.headersOnly.Add(1)
	}
}

// Dropped counts a failed message dropped because not even a headers-only
// dead letter of it could be written.
func (d *Counts) Dropped() { d.dropped.Add(1) }

// Stats returns the counts.
func (d *Counts) Stats() stream.DeadLetterStats {
	return stream.DeadLetterStats{
		Truncated:   d.truncated.Load(),
		HeadersOnly: d.headersOnly.Load(),
		Dropped:     d.dropped.Load(),
	}
}
