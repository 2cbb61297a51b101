package dlhold

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestPacerSchedule drives a Pacer with explicit times, a failure every
// 100ms for an hour: WARN at the first, then at gaps of about 5s (±20%
// jitter) doubling to about 5min, DEBUG (false) in between.
func TestPacerSchedule(t *testing.T) {
	p := NewPacer()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const step = 100 * time.Millisecond
	var warns []time.Time
	for now := t0; now.Before(t0.Add(time.Hour)); now = now.Add(step) {
		if p.Warn(now) {
			warns = append(warns, now)
		}
	}
	if len(warns) == 0 || !warns[0].Equal(t0) {
		t.Fatalf("the first failure did not WARN: %v", warns)
	}
	want := WarnInitial
	for i := 1; i < len(warns); i++ {
		gap := warns[i].Sub(warns[i-1])
		lo, hi := time.Duration(0.8*float64(want)), time.Duration(1.2*float64(want))+step
		if gap < lo || gap > hi {
			t.Errorf("WARN %d came %s after the one before; want %s to %s", i+1, gap, lo, hi)
		}
		want = min(2*want, WarnMax)
	}
	// The first, six more 5+10+20+40+80+160 s apart, then one every
	// 5 min: about 18 in the hour.
	if n := len(warns); n < 16 || n > 22 {
		t.Errorf("%d WARNs in an hour of failures; want about 18", n)
	}
}

func TestRetry(t *testing.T) {
	for _, c := range []struct{ in, want, max time.Duration }{
		{0, RetryInitial, RetryMax},
		{50 * time.Millisecond, RetryInitial, RetryMax},
		{time.Second, time.Second, RetryMax},
		{10 * time.Second, 10 * time.Second, 10 * time.Second}, // a binding's longer delay stays
	} {
		if b := Retry(c.in); b.Initial != c.want || b.Max != c.max {
			t.Errorf("Retry(%s) = %+v; want Initial %s, Max %s", c.in, b, c.want, c.max)
		}
	}
}

// TestRetryRecoversPromptly: however long a dead letter has been held, its
// next attempt comes within 5s (+20% jitter), so that it goes within
// that of the DLQ taking it again; it was up to 30s (+20%).
func TestRetryRecoversPromptly(t *testing.T) {
	b := Retry(0)
	var sum time.Duration
	for attempt := 1; attempt <= 200; attempt++ {
		d := b.Delay(attempt)
		if d > 6*time.Second {
			t.Fatalf("attempt %d waits %s (held %s so far); want at most 5s +20%%", attempt, d, sum)
		}
		sum += d
	}
}

func TestDown(t *testing.T) {
	var d Down
	if d.Err() != nil || d.Health("x") != nil {
		t.Fatalf("zero Down: Err %v, Health %v; want nil", d.Err(), d.Health("x"))
	}
	full := errors.New("DLQ full")
	d.Set(full)
	if !errors.Is(d.Err(), full) {
		t.Errorf("Err after Set = %v; want %v", d.Err(), full)
	}
	h := d.Health(`rabbit: consumer in-0 (destination "orders", group "g")`)
	if want := `rabbit: consumer in-0 (destination "orders", group "g") cannot send dead letters: DLQ full`; h == nil || h.Error() != want || !errors.Is(h, full) {
		t.Errorf("Health = %v; want %q wrapping the cause", h, want)
	}
	d.Clear()
	if d.Err() != nil || d.Health("x") != nil {
		t.Errorf("after Clear: Err %v, Health %v; want nil", d.Err(), d.Health("x"))
	}
}

// TestDownConcurrent: every worker's hold sets and clears it while Health
// reads it (run with -race).
func TestDownConcurrent(t *testing.T) {
	var d Down
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if i%2 == 0 {
					d.Set(errors.New("down"))
				} else {
					d.Clear()
				}
				_ = d.Health("x")
			}
		}()
	}
	wg.Wait()
}

// TestInFlightEach: k messages count one by one, each released once
// however often, the rest by ReleaseAll; nil holding counts nothing.
func TestInFlightEach(t *testing.T) {
	var n int
	holding := func(k int) func() {
		n += k
		return func() { n -= k }
	}
	h := InFlightEach(holding, 3)
	if n != 3 {
		t.Fatalf("%d counted; want 3", n)
	}
	h.Release(0)
	h.Release(0)
	if n != 2 {
		t.Errorf("%d counted after releasing one (twice); want 2", n)
	}
	h.Take(1)()
	h.ReleaseAll()
	h.ReleaseAll()
	if n != 0 {
		t.Errorf("%d counted after ReleaseAll; want 0", n)
	}
	InFlightEach(nil, 2).ReleaseAll()
	if h := InFlightEach(holding, 0); len(h) != 0 || n != 0 {
		t.Errorf("InFlightEach(0): %d releases, %d counted; want none", len(h), n)
	}
}
