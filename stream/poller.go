package stream

import (
	"context"
	"log/slog"
	"time"

	"github.com/streambind/streambind/internal/cron"
)

// poller runs the polls of a polled supplier on its output binding's
// schedule (PollerConfig): when each starts, and how many times each
// calls the supplier.
type poller struct {
	cfg  PollerConfig
	cron *cron.Schedule // nil: fixed-rate or fixed-delay
	log  *slog.Logger
	// now and sleep are the clock: time.Now and sleepUntil, but in
	// tests.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration, changed <-chan struct{}) bool
}

// gate is what the poller needs of the output binding: whether it is
// started, a wait until it is, and a channel closed at its next state
// change.
type gate interface {
	State() State
	waitStarted(ctx context.Context, stop <-chan struct{}) bool
	stateChanged() <-chan struct{}
}

func newPoller(cfg PollerConfig, log *slog.Logger) *poller {
	p := &poller{cfg: cfg, log: log, now: time.Now, sleep: sleepUntil}
	if cfg.Cron != "" {
		// Validate parsed it already: an error here would be a bug, and
		// the poller then falls back to the fixed delay, loudly.
		s, err := cron.Parse(cfg.Cron)
		if err != nil {
			log.Error("producer.poller.cron unusable; polling every fixed-delay instead", "error", err, "fixed-delay", cfg.FixedDelay)
		}
		p.cron = s
	}
	return p
}

// run polls until ctx ends: at each time the schedule names while the
// binding is started, up to max-messages-per-poll calls of call, each
// reporting whether the supplier gave a value (a poll ends at the first
// that did not). A binding that was stopped begins the schedule anew when
// it starts again (initial-delay included), as SCSt's poller, restarted
// with its binding, does.
func (p *poller) run(ctx context.Context, b gate, call func() (more bool)) {
	var next time.Time // zero: the schedule begins (anew)
	for {
		if b.State() != StateStarted {
			next = time.Time{}
			if !b.waitStarted(ctx, nil) {
				return
			}
		}
		if next.IsZero() {
			next = p.first(p.now())
		}
		if next.IsZero() {
			p.log.Warn("producer.poller.cron names no further time: the supplier is not polled again", "cron", p.cfg.Cron)
			<-ctx.Done()
			return
		}
		changed := b.stateChanged()
		if b.State() != StateStarted {
			continue
		}
		if !p.sleep(ctx, next.Sub(p.now()), changed) {
			if ctx.Err() != nil {
				return
			}
			// Stopped (and maybe started again) meanwhile: no poll at
			// the old time, and the schedule begins anew.
			next = time.Time{}
			continue
		}
		for i := 0; p.cfg.MaxMessagesPerPoll < 0 || i < p.cfg.MaxMessagesPerPoll; i++ {
			if ctx.Err() != nil || b.State() != StateStarted || !call() {
				break
			}
		}
		select {
		case <-changed:
			// Stopped (and maybe started again) during the poll: the
			// schedule begins anew, as after a restart during the wait.
			next = time.Time{}
		default:
			next = p.after(next, p.now())
		}
	}
}

// first is when the first poll of a schedule begun at now starts.
func (p *poller) first(now time.Time) time.Time {
	if p.cron != nil {
		return p.cron.Next(now)
	}
	return now.Add(p.cfg.InitialDelay)
}

// after is when the poll after one scheduled for scheduled, which ended at
// ended, starts: Spring's triggers' rules (CronTrigger: the next match
// after the end; PeriodicTrigger: fixed-rate counts from the scheduled
// start, fixed-delay from the end).
func (p *poller) after(scheduled, ended time.Time) time.Time {
	switch {
	case p.cron != nil:
		// From the later of the two, as Spring's CronTrigger: a poll that
		// ran while the wall clock still read before its time (stepped
		// back during the wait) must not run again at the same time.
		if ended.Before(scheduled) {
			ended = scheduled
		}
		return p.cron.Next(ended)
	case p.cfg.FixedRate > 0:
		return scheduled.Add(p.cfg.FixedRate)
	}
	return ended.Add(p.cfg.FixedDelay)
}

// sleepUntil waits d, or until ctx ends or changed is closed; it reports
// whether d passed.
func sleepUntil(ctx context.Context, d time.Duration, changed <-chan struct{}) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-changed:
	}
	return false
}
