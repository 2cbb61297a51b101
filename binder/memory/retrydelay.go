package memory

import (
	"errors"
	"time"

	"github.com/streambind/streambind/stream"
)

var _ stream.DelayedRetrier = (*Binder)(nil)

// DelayedRetries implements [stream.DelayedRetrier]: the in-process broker
// parks a message for its consumer.retry-delays delay with a timer and then
// appends it to its group's queue again. A named group is needed: the
// private group of an anonymous consumer is gone when it stops.
func (bd *Binder) DelayedRetries(spec stream.ConsumerSpec) error {
	if spec.Group == "" {
		return errors.New("memory: non-blocking retries need a consumer group (group is empty)")
	}
	return nil
}

// retryLater carries out a [stream.DelayedRetry] for it: after the delay,
// a copy with the retry headers is appended to the group's queue (the
// queue of its partition), behind the messages that arrived meanwhile. The
// queue's capacity does not hold it back: the message was already
// accepted. Messages parked when the broker closes are lost with
// everything else the in-process broker holds: shut stops their timers,
// so that a long delay does not keep them in memory after Close.
func (r *run) retryLater(it item, dr *stream.DelayedRetry) {
	g := r.g
	it.env.Headers = dr.Headers // every header, the stamped ones included
	it.env.stamp = stamp{}
	stream.MarkRetryDelivery(it.env.Headers) // its attempts count (only) when it comes back
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	// t is set before the callback can read it: the callback takes g.mu,
	// held here until t is in g.parked. The item is kept in g.parked, not
	// in the callback, so that shut lets go of it even while the runtime
	// still holds the stopped timer.
	var t *time.Timer
	t = time.AfterFunc(dr.Delay, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		it, ok := g.parked[t]
		if !ok { // shut
			return
		}
		delete(g.parked, t)
		q := g.target(it)
		if q == nil { // closed
			return
		}
		q.items.pushBack(*it)
		q.wakeRuns()
	})
	if g.parked == nil {
		g.parked = make(map[*time.Timer]*item)
	}
	g.parked[t] = &it
}
