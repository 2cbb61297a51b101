package stream

import (
	"context"
	"testing"
	"time"
)

// TestBreakPollerCronNoRefireWhenWokenEarly: poller.after computes a cron
// schedule's next poll as cron.Next(ended), the end of the previous poll by
// the wall clock. The wait before a poll is a monotonic timer for
// next.Sub(now) (next, from cron.Next, carries no monotonic reading), so
// when the wall clock is stepped back while the poller waits (an NTP step,
// a VM's clock resync), the poll runs while the wall clock still reads
// before its scheduled time, and cron.Next(ended) is that same scheduled
// time again: the poll of one cron time runs twice ("@daily": the daily
// job twice). Spring's CronTrigger guards against exactly this
// (CronTrigger.determineLatestTimestamp: "Previous task apparently executed
// too early... use the last calculated execution time then, in order to
// prevent accidental re-fires in the same second"): the next time is
// computed from the later of the completion and the scheduled time.
// Expected here: polls at 21:30:10 and 21:30:20 (one per cron time), not a
// second poll at 21:30:10. Fix: in after, for cron, use
// p.cron.Next(later of scheduled and ended).
func TestBreakPollerCronNoRefireWhenWokenEarly(t *testing.T) {
	r := newPollerRun(t, PollerConfig{Cron: "*/10 * * * * *"}, "2026-12-04 21:30:05.000")
	// The first wait (for 21:30:10) ends with the wall clock stepped back
	// by 5ms: it reads 21:30:09.995.
	r.p.sleep = func(ctx context.Context, d time.Duration, _ <-chan struct{}) bool {
		if ctx.Err() != nil {
			return false
		}
		r.sleeps = append(r.sleeps, d)
		if d > 0 {
			r.clock = r.clock.Add(d)
		}
		if len(r.sleeps) == 1 {
			r.clock = r.clock.Add(-5 * time.Millisecond)
		}
		return true
	}
	r.run(&fakeGate{state: StateStarted}, 2, 0, always, nil)
	if gap := r.calls[1].Sub(r.calls[0]); gap < 9*time.Second {
		t.Errorf("cron */10: polls at %v (wall clock): the poll of 21:30:10 ran twice, want the second at the next cron time, 21:30:20", r.callTimes())
	}
}
