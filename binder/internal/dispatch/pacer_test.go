package dispatch

import (
	"testing"
	"time"
)

func TestPacerReset(t *testing.T) {
	p := Pacer{Every: Backoff{Initial: 5 * time.Second, Max: time.Minute}}
	t0 := time.Now()
	if !p.Warn(t0) {
		t.Fatal("first failure: want WARN")
	}
	if p.Warn(t0.Add(time.Second)) {
		t.Fatal("a failure 1s after a WARN: want DEBUG")
	}
	if !p.Warn(t0.Add(7 * time.Second)) {
		t.Fatal("a failure 7s after a WARN (every 5s ±20%): want WARN")
	}
	p.Reset()
	if !p.Warn(t0.Add(8 * time.Second)) {
		t.Fatal("first failure after Reset: want WARN")
	}
	if p.Warn(t0.Add(9 * time.Second)) {
		t.Fatal("a failure 1s after the WARN after Reset: want DEBUG")
	}
}
