package rabbit

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCoalescedAcksSentWhenStopFindsAckLockHeld: a Stop that runs out of
// time on a handler call sends the acks held for coalescing also when it
// finds their lock taken at that moment. The holder need not be sending
// them: the worker takes it to record an ack, or to look at the held ones
// just before a handler call (which may then never return). Stop only
// tried the lock and, when it was taken, left them held until the
// handler returned. Here the test holds the lock across the Stop.
func TestCoalescedAcksSentWhenStopFindsAckLockHeld(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 40
	h := newHeldAcks(t, ctx, "coalesce-stop-locked", n)
	g, held := h.hold()
	h.r.ackMu.Lock()
	sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := h.c.Stop(sctx)
	scancel()
	h.r.ackMu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "handlers still running") {
		t.Fatalf("Stop = %v, want it to run out of time on the handler", err)
	}
	// The broker counts the ack asynchronously: poll, bounded.
	got := h.acked()
	for deadline := time.Now().Add(5 * time.Second); got != g.id && time.Now().Before(deadline); got = h.acked() {
		time.Sleep(20 * time.Millisecond)
	}
	if got != g.id {
		t.Errorf("after Stop ran out of time %d messages acked, want the %d handled (%d were held)", got, g.id, held)
	}
	h.gating.Store(false)
	close(g.release)
	if err := h.c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
