package dispatch

import (
	"context"
	"time"
)

// SettleReserve is how long before the deadline of a binding's stop (the
// shutdown-timeout's) its handlers' context is cancelled: a tenth of the
// time left, at most one second. A handler that returns when its context
// ends returns then, and its message is settled (Nak'ed, given back,
// requeued, its offset left uncommitted) and the binding wound down
// (acknowledgements flushed, pending entries given back, the group left)
// within the time reserved, before the binder closes its connection;
// cancelled only at the deadline, it returned when the binder had closed
// the connection, and its message waited for ack-wait or claim-min-idle.
// Settling takes a few round trips to the broker, milliseconds when it is
// healthy: a second covers a slow one, and a tenth keeps nine tenths of a
// short timeout for the handlers.
func SettleReserve(left time.Duration) time.Duration {
	if left <= 0 {
		return 0
	}
	return min(time.Second, left/10)
}

// CancelBefore arranges for cancel (a handlers' context's) to be called
// [SettleReserve] before ctx's deadline, counted from now, or when ctx
// ends if it has no deadline (at once if it has ended). The returned stop
// undoes the arrangement if cancel was not called yet.
func CancelBefore(ctx context.Context, cancel func()) (stop func()) {
	if ctx.Err() != nil {
		cancel()
		return func() {}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		stop := context.AfterFunc(ctx, cancel)
		return func() { stop() }
	}
	left := time.Until(deadline)
	t := time.AfterFunc(left-SettleReserve(left), cancel)
	return func() { t.Stop() }
}

// CancelHandlers cancels the handlers' context ([Pool.Context]) now, as
// Stop does when it runs out of time: a binder's run calls it when its
// Stop is about to (see [CancelBefore]). Later calls return at once.
func (p *Pool[T]) CancelHandlers() { p.cancel() }
