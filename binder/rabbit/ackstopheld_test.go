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
	h.expectAckedThenStop(ctx, g, held)
}
