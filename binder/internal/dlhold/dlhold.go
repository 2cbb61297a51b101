// Package dlhold holds what the broker binders of this module share when
// they hold a failed message, unacknowledged, because its dead letter
// cannot be sent for now: the back-off of the dead-letter publish
// ([Retry]), the pacing of its WARN lines ([NewPacer], a [dispatch.Pacer])
// and the binding's "cannot send dead letters" health ([Down]), and the
// count of a held message in the binding's in-flight gauges ([InFlight],
// [InFlightEach] for a batch's failed messages). The RabbitMQ, NATS, Kafka
// and Redis binders hold dead letters alike: the publish retried on
// [Retry] (a binding's longer redelivery-delay kept), WARN lines paced,
// the binding's health down after [DownAfter] attempts (NATS: its
// dlq-attempts) until a dead letter goes, and every failed message not
// yet settled counted in flight. How they hold differs with the broker:
// RabbitMQ and NATS hold the message unacknowledged (the worker takes no
// other), Kafka does not commit past it (its partition waits), Redis does
// not XACK it (its worker waits).
//
// It is internal to the binders of this module.
package dlhold

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambind/streambind/binder/internal/dispatch"
)

// A held dead letter's publish is retried after RetryInitial (or a
// binding's own longer delay), then twice as long each time up to
// RetryMax. An attempt is cheap (one publish, which a full DLQ nacks at
// once; a few a minute per held message), and the hold's end waits for the
// next one: RetryMax bounds how long a held dead letter waits once the DLQ
// takes it again (it was 30s before 2026-12-06). Its WARN lines come at
// the first failure, then at intervals doubling from WarnInitial to
// WarnMax (DEBUG in between): a hold may last as long as an operator takes
// to empty a full DLQ, and one WARN an attempt would flood the log.
// After DownAfter failed attempts the binding reports its dead letters
// down ([Down]) until one goes (NATS: after its dlq-attempts).
const (
	RetryInitial = 100 * time.Millisecond
	RetryMax     = 5 * time.Second
	WarnInitial  = 5 * time.Second
	WarnMax      = 5 * time.Minute
	DownAfter    = 3
)

// Retry is the back-off between a held dead letter's publish attempts:
// initial (a binding's redelivery-delay, say), at least RetryInitial,
// doubling to RetryMax; a binding's delay longer than RetryMax stays as it
// is (±20% jitter, as every delay of [dispatch.Backoff]).
func Retry(initial time.Duration) dispatch.Backoff {
	initial = max(initial, RetryInitial)
	return dispatch.Backoff{Initial: initial, Max: max(initial, RetryMax)}
}

// InFlight counts k messages held after their handler returned (a
// failed message whose dead letter is being sent, and retried while it
// is refused for now) in the binding's in-flight gauges, through holding
// (the spec's stream.ConsumerSpec.Holding; nil, as in a binder's own
// tests: nothing is counted), and returns what ends the count, to call
// once the messages are settled or handed back (deferred: a panic does not
// leave them counted). A held message is not settled: it stays in flight,
// and its age grows, as long as it is held. [InFlightEach] releases k
// messages one by one.
func InFlight(holding func(k int) (release func()), k int) (release func()) {
	if holding == nil || k <= 0 {
		return func() {}
	}
	return holding(k)
}

// Held counts messages in flight one by one, as [InFlightEach] made it:
// each is released on its own as it is settled.
type Held []func()

// InFlightEach counts k messages in flight as [InFlight] does, but each
// with a release of its own: the failed messages of a batch, dead-lettered
// one after the other, all count from the first dead letter's start (the
// ones behind a held dead letter are not settled either), and each stops
// counting as it is settled or handed back (Release), not when the last
// is. ReleaseAll (deferred, so that a panic does not leave them counted)
// ends what is left.
func InFlightEach(holding func(k int) (release func()), k int) Held {
	h := make(Held, max(k, 0))
	for i := range h {
		h[i] = sync.OnceFunc(InFlight(holding, 1))
	}
	return h
}

// Release ends the count of message i (once: again does nothing).
func (h Held) Release(i int) { h[i]() }

// Take hands message i's release to a callee that settles it (and calls
// it once it did); the count ends at the latest at ReleaseAll.
func (h Held) Take(i int) (release func()) { return h[i] }

// ReleaseAll ends the count of every message not yet released.
func (h Held) ReleaseAll() {
	for _, r := range h {
		r()
	}
}

// NewPacer returns a [dispatch.Pacer] on a held dead letter's schedule:
// WARN at the first failure, then at intervals doubling from WarnInitial
// to WarnMax.
func NewPacer() dispatch.Pacer {
	return dispatch.Pacer{Every: dispatch.Backoff{Initial: WarnInitial, Max: WarnMax}}
}

// Down is why a consumer binding's dead letters cannot be sent, nil once
// one goes. Its zero value is ready (not down) and it is safe for
// concurrent use: the holds of every worker set and clear it, and Health
// reads it.
type Down struct {
	err atomic.Pointer[error]
}

// Set records why dead letters cannot be sent.
func (d *Down) Set(err error) { d.err.Store(&err) }

// Clear records that a dead letter went.
func (d *Down) Clear() { d.err.Store(nil) }

// Err is why dead letters cannot be sent, nil when they can.
func (d *Down) Err() error {
	if e := d.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Health is nil when dead letters can be sent, else the binding's health
// error: who (the binder and binding, "rabbit: consumer in-0 (destination
// \"orders\", group \"g\")") cannot send dead letters, and why.
func (d *Down) Health(who string) error {
	if e := d.Err(); e != nil {
		return fmt.Errorf("%s cannot send dead letters: %w", who, e)
	}
	return nil
}
