package stream

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeGate is an output binding whose state the test sets (set);
// waitStarted starts it and counts the waits.
type fakeGate struct {
	state   State
	waits   int
	changed chan struct{}
}

func (g *fakeGate) State() State { return g.state }

func (g *fakeGate) set(s State) {
	g.state = s
	if g.changed != nil {
		close(g.changed)
	}
	g.changed = make(chan struct{})
}

func (g *fakeGate) stateChanged() <-chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

func (g *fakeGate) waitStarted(ctx context.Context, _ <-chan struct{}) bool {
	if ctx.Err() != nil {
		return false
	}
	g.waits++
	g.set(StateStarted)
	return true
}

// pollerRun is a poller on a fake clock: it records each sleep asked for
// (and moves the clock by it), and each supplier call's time; the calls
// move the clock by callTakes.
type pollerRun struct {
	t      *testing.T
	p      *poller
	clock  time.Time
	sleeps []time.Duration
	calls  []time.Time
}

func newPollerRun(t *testing.T, cfg PollerConfig, start string) *pollerRun {
	t.Helper()
	cfg = BindingConfig{Producer: ProducerConfig{Poller: cfg}}.merged(builtinBindingDefaults()).Producer.Poller
	if es := (BindingConfig{Producer: ProducerConfig{Poller: cfg}}).merged(builtinBindingDefaults()).Validate("b"); len(es) > 0 {
		t.Fatalf("config: %v", es)
	}
	r := &pollerRun{t: t}
	var err error
	if r.clock, err = time.Parse(time.DateTime+".000", start); err != nil {
		t.Fatal(err)
	}
	r.p = newPoller(cfg, slog.New(slog.DiscardHandler))
	r.p.now = func() time.Time { return r.clock }
	r.p.sleep = func(ctx context.Context, d time.Duration, changed <-chan struct{}) bool {
		if ctx.Err() != nil {
			return false
		}
		r.sleeps = append(r.sleeps, d)
		select {
		case <-changed:
			return false // the binding's state changed during the wait
		default:
		}
		if d > 0 {
			r.clock = r.clock.Add(d)
		}
		return true
	}
	return r
}

// run polls until n calls were made; yield says whether call i (from 0)
// gives a value; each call takes callTakes; onCall, when set, runs at each.
func (r *pollerRun) run(g gate, n int, callTakes time.Duration, yield func(i int) bool, onCall func(i int)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.p.run(ctx, g, func() bool {
		i := len(r.calls)
		r.calls = append(r.calls, r.clock)
		r.clock = r.clock.Add(callTakes)
		if onCall != nil {
			onCall(i)
		}
		if len(r.calls) == n {
			cancel()
		}
		return yield(i)
	})
}

func (r *pollerRun) callTimes() []string {
	var out []string
	for _, c := range r.calls {
		out = append(out, c.Format("15:04:05.000"))
	}
	return out
}

func always(int) bool { return true }

func check[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestPollerFixedDelay(t *testing.T) {
	r := newPollerRun(t, PollerConfig{FixedDelay: time.Second, InitialDelay: 5 * time.Second, MaxMessagesPerPoll: 3}, "2026-12-04 21:30:00.000")
	r.run(&fakeGate{state: StateStarted}, 6, 100*time.Millisecond, always, nil)
	// The first poll after the initial delay, three calls a poll, the next
	// poll a second after the previous one ended.
	check(t, "calls", r.callTimes(), []string{"21:30:05.000", "21:30:05.100", "21:30:05.200", "21:30:06.300", "21:30:06.400", "21:30:06.500"})
	check(t, "sleeps", r.sleeps, []time.Duration{5 * time.Second, time.Second})
}

func TestPollerDefaults(t *testing.T) {
	r := newPollerRun(t, PollerConfig{}, "2026-12-04 21:30:00.000")
	r.run(&fakeGate{state: StateStarted}, 3, 100*time.Millisecond, always, nil)
	// SCSt's defaults: at once, one call a poll, fixed-delay 1s.
	check(t, "calls", r.callTimes(), []string{"21:30:00.000", "21:30:01.100", "21:30:02.200"})
}

func TestPollerFixedRate(t *testing.T) {
	r := newPollerRun(t, PollerConfig{FixedRate: time.Second, FixedDelay: 7 * time.Second, MaxMessagesPerPoll: 2}, "2026-12-04 21:30:00.000")
	r.run(&fakeGate{state: StateStarted}, 6, 300*time.Millisecond, always, nil)
	// Polls start a second apart whatever they take; fixed-delay is not used.
	check(t, "calls", r.callTimes(), []string{"21:30:00.000", "21:30:00.300", "21:30:01.000", "21:30:01.300", "21:30:02.000", "21:30:02.300"})

	// A poll that overruns the rate: the next starts at once, and so do
	// the missed ones (Spring's PeriodicTrigger counts from the scheduled
	// start).
	r = newPollerRun(t, PollerConfig{FixedRate: time.Second}, "2026-12-04 21:30:00.000")
	r.run(&fakeGate{state: StateStarted}, 4, 2500*time.Millisecond, always, nil)
	check(t, "overrun calls", r.callTimes(), []string{"21:30:00.000", "21:30:02.500", "21:30:05.000", "21:30:07.500"})
	check(t, "overrun sleeps", r.sleeps, []time.Duration{0, -1500 * time.Millisecond, -3000 * time.Millisecond, -4500 * time.Millisecond})
}

func TestPollerEndsAtNothing(t *testing.T) {
	// Up to 3 a poll; the supplier has a value for calls 0, 1, 3, 4, 5, 6.
	r := newPollerRun(t, PollerConfig{FixedDelay: time.Second, MaxMessagesPerPoll: 3}, "2026-12-04 21:30:00.000")
	r.run(&fakeGate{state: StateStarted}, 7, 0, func(i int) bool { return i != 2 }, nil)
	check(t, "calls", r.callTimes(), []string{"21:30:00.000", "21:30:00.000", "21:30:00.000", "21:30:01.000", "21:30:01.000", "21:30:01.000", "21:30:02.000"})

	// No limit: a poll calls until the supplier has nothing.
	r = newPollerRun(t, PollerConfig{FixedDelay: time.Second, MaxMessagesPerPoll: -1}, "2026-12-04 21:30:00.000")
	r.run(&fakeGate{state: StateStarted}, 9, 0, func(i int) bool { return i != 5 }, nil)
	check(t, "unlimited calls", r.callTimes(), []string{"21:30:00.000", "21:30:00.000", "21:30:00.000", "21:30:00.000", "21:30:00.000", "21:30:00.000", "21:30:01.000", "21:30:01.000", "21:30:01.000"})
}

func TestPollerCron(t *testing.T) {
	// Every ten seconds; initial-delay and fixed-delay do not apply.
	r := newPollerRun(t, PollerConfig{Cron: "*/10 * * * * *", InitialDelay: time.Hour, FixedDelay: time.Hour}, "2026-12-04 21:30:05.500")
	r.run(&fakeGate{state: StateStarted}, 3, 12*time.Second, always, nil)
	// The next match after the previous poll ended (21:30:22 → 21:30:30).
	check(t, "calls", r.callTimes(), []string{"21:30:10.000", "21:30:30.000", "21:30:50.000"})
	check(t, "sleeps", r.sleeps, []time.Duration{4500 * time.Millisecond, 8 * time.Second, 8 * time.Second})
}

func TestPollerRestartBeginsAnew(t *testing.T) {
	r := newPollerRun(t, PollerConfig{FixedDelay: 10 * time.Second, InitialDelay: 2 * time.Second}, "2026-12-04 21:30:00.000")
	g := &fakeGate{state: StateStopped}
	// The binding is stopped after the second call and started again at
	// once (the fake waitStarted): the next poll waits the initial delay
	// from then, not the fixed delay.
	r.run(g, 3, 0, always, func(i int) {
		if i == 1 {
			g.set(StateStopped)
		}
	})
	check(t, "calls", r.callTimes(), []string{"21:30:02.000", "21:30:12.000", "21:30:14.000"})
	if g.waits != 2 {
		t.Errorf("waited for the start %d times, want 2", g.waits)
	}

	// Stopped and started again 3s into the wait for the next poll: no
	// poll at the old time; the schedule begins anew at the restart.
	r = newPollerRun(t, PollerConfig{FixedDelay: 10 * time.Second, InitialDelay: time.Second}, "2026-12-04 21:30:00.000")
	g = &fakeGate{state: StateStarted}
	sleep := r.p.sleep
	r.p.sleep = func(ctx context.Context, d time.Duration, changed <-chan struct{}) bool {
		if len(r.sleeps) == 1 { // during the second wait
			r.clock = r.clock.Add(3 * time.Second)
			g.set(StateStopped)
			g.set(StateStarted)
		}
		return sleep(ctx, d, changed)
	}
	r.run(g, 2, 0, always, nil)
	check(t, "calls", r.callTimes(), []string{"21:30:01.000", "21:30:05.000"})
	check(t, "sleeps", r.sleeps, []time.Duration{time.Second, 10 * time.Second, time.Second})
}

func TestPollerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  PollerConfig
		want string
	}{
		{PollerConfig{FixedRate: -time.Second}, "producer.poller.fixed-rate: must not be negative"},
		{PollerConfig{InitialDelay: -time.Second}, "producer.poller.initial-delay: must not be negative"},
		{PollerConfig{Cron: "0 0 0 L * *"}, "producer.poller.cron: cron \"0 0 0 L * *\": day-of-month field \"L\": the Quartz extensions L"},
		{PollerConfig{Cron: "*/5 * * * *"}, "has 5 fields, want 6"},
	} {
		es := BindingConfig{Producer: ProducerConfig{Poller: tc.cfg}}.merged(builtinBindingDefaults()).Validate("stream.bindings.b")
		got := fmt.Sprint(es)
		if len(es) != 1 || !strings.Contains(got, tc.want) {
			t.Errorf("%+v: got %s, want one error saying %q", tc.cfg, got, tc.want)
		}
	}
}

// A binding's poller keys merge with stream.default's key by key, as in
// SCSt: a default cron wins over the binding's fixed-delay.
func TestPollerScheduleMerge(t *testing.T) {
	def := BindingConfig{Producer: ProducerConfig{Poller: PollerConfig{Cron: "0 0 * * * *", InitialDelay: time.Second, MaxMessagesPerPoll: 4}}}.merged(builtinBindingDefaults())
	for _, tc := range []struct {
		own, want PollerConfig
	}{
		{PollerConfig{}, PollerConfig{Cron: "0 0 * * * *", FixedDelay: time.Second, InitialDelay: time.Second, MaxMessagesPerPoll: 4}},
		{PollerConfig{FixedDelay: 5 * time.Second}, PollerConfig{Cron: "0 0 * * * *", FixedDelay: 5 * time.Second, InitialDelay: time.Second, MaxMessagesPerPoll: 4}},
		{PollerConfig{FixedRate: 5 * time.Second}, PollerConfig{Cron: "0 0 * * * *", FixedRate: 5 * time.Second, FixedDelay: time.Second, InitialDelay: time.Second, MaxMessagesPerPoll: 4}},
		{PollerConfig{Cron: "@daily", MaxMessagesPerPoll: -1}, PollerConfig{Cron: "@daily", FixedDelay: time.Second, InitialDelay: time.Second, MaxMessagesPerPoll: -1}},
	} {
		got := BindingConfig{Producer: ProducerConfig{Poller: tc.own}}.merged(def).Producer.Poller
		if got != tc.want {
			t.Errorf("own %+v: got %+v, want %+v", tc.own, got, tc.want)
		}
	}
}
