// Package dlhold holds what the broker binders of this module share when
// they hold a failed message, unacknowledged, because its dead letter
// cannot be sent for now: the back-off of the dead-letter publish
// ([Retry]), the pacing of its WARN lines ([NewPacer], a [dispatch.Pacer])
// and the binding's "cannot send dead letters" health ([Down]), and the
// count of a held message in the binding's in-flight gauges ([InFlight]).
// The RabbitMQ and NATS binders hold dead letters alike.
//
// It is internal to the binders of this module.
package dlhold

import (
	"fmt"
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
const (
	RetryInitial = 100 * time.Millisecond
	RetryMax     = 5 * time.Second
	WarnInitial  = 5 * time.Second
	WarnMax      = 5 * time.Minute
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
// once the messages are settled or handed back. A held message is not
// settled: it stays in flight, and its age grows, as long as it is held.
func InFlight(holding func(k int) (release func()), k int) (release func()) {
	if holding == nil || k <= 0 {
		return func() {}
	}
	return holding(k)
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
