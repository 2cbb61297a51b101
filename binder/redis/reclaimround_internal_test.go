package redis

import (
	"context"
	"testing"
	"time"
)

// A claim-interval tick while the run is paused with a reclaim backlog
// (more idle entries than there was room for) keeps the backlog in mind:
// after Resume the rest is taken as soon as there is room. It was
// forgotten, and the rest waited up to a claim-interval more.
func TestReclaimRoundPausedKeepsMore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &run{c: &consumer{cs: consumerSettings{prefetch: 10}}, ctx: ctx, paused: true,
		reclaimWake: make(chan struct{}, 1)}
	tick := make(chan time.Time, 1)
	for _, more := range []bool{true, false} {
		tick <- time.Now()
		next, ok := r.reclaimRound(more, tick)
		if !ok || next != more {
			t.Errorf("paused round with more %v: got more %v, ok %v; want %v, true", more, next, ok, more)
		}
	}
	cancel()
	if _, ok := r.reclaimRound(true, tick); ok {
		t.Error("a stopped run's round: ok true")
	}
}
