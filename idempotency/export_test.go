package idempotency

import "context"

// SetRoundTripHook runs h after each of the store's bounded round trips
// (BEGIN, COMMIT), before their timer is stopped, until restore is called.
func SetRoundTripHook(h func(actx context.Context, step string)) (restore func()) {
	roundTripHook.Store(&h)
	return func() { roundTripHook.Store(nil) }
}
