package pace

import (
	"testing"
	"time"
)

// TestGate: a warning repeating every 100ms is let through at 0s,
// 1s, 3s, 7s (intervals doubling while it keeps coming), each saying how
// many were held back; after a quiet spell longer than twice the interval
// the next is let through at once and the interval is 1s again.
func TestGate(t *testing.T) {
	var g Gate
	t0 := time.Unix(1000, 0)
	var through []time.Duration
	var held []int
	for at := time.Duration(0); at <= 8*time.Second; at += 100 * time.Millisecond {
		if ok, n := g.Allow(t0.Add(at)); ok {
			through = append(through, at)
			held = append(held, n)
		}
	}
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
	if len(through) != len(want) {
		t.Fatalf("let through at %v, want %v", through, want)
	}
	for i := range want {
		if through[i] != want[i] {
			t.Fatalf("let through at %v, want %v", through, want)
		}
	}
	if wantHeld := []int{0, 9, 19, 39}; held[1] != wantHeld[1] || held[2] != wantHeld[2] || held[3] != wantHeld[3] {
		t.Errorf("held back %v, want %v", held, wantHeld)
	}
	// Quiet for 20s (more than twice the 8s interval): through at once, and
	// the next one again only after 1s.
	quiet := t0.Add(28 * time.Second)
	if ok, n := g.Allow(quiet); !ok || n != 10 {
		t.Errorf("after a quiet spell: let through %v, held back %d, want true and 10", ok, n)
	}
	if ok, _ := g.Allow(quiet.Add(900 * time.Millisecond)); ok {
		t.Error("let through 0.9s after the last one, want the interval back to 1s")
	}
	if ok, _ := g.Allow(quiet.Add(time.Second)); !ok {
		t.Error("held back 1s after the last one")
	}
	for range 200 { // never above a minute
		g.Allow(g.last.Add(g.every))
	}
	if g.every != DefaultMax {
		t.Errorf("interval %v after a long fault, want %v", g.every, DefaultMax)
	}
}

// TestGateFixedInterval: with Min equal to Max one warning a Min is let
// through, whatever the quiet spells.
func TestGateFixedInterval(t *testing.T) {
	g := Gate{Min: time.Minute, Max: time.Minute}
	t0 := time.Unix(1000, 0)
	var through []time.Duration
	for at := time.Duration(0); at <= 5*time.Minute; at += 10 * time.Second {
		if ok, _ := g.Allow(t0.Add(at)); ok {
			through = append(through, at)
		}
	}
	if len(through) != 6 || through[1] != time.Minute || through[5] != 5*time.Minute {
		t.Fatalf("let through at %v, want one a minute", through)
	}
	if ok, n := g.Allow(t0.Add(30 * time.Minute)); !ok || n != 0 {
		t.Errorf("after a quiet spell: %v, %d held back", ok, n)
	}
}
