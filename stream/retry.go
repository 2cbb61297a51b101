package stream

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// retryPolicy is the in-process retry of a consumer binding
// (consumer.max-attempts and the back-off keys).
type retryPolicy struct {
	maxAttempts int
	initial     time.Duration
	multiplier  float64
	max         time.Duration
	// retryable classifies errors (consumer.retryable-exceptions and
	// default-retryable); nil: every error is retried.
	retryable func(error) bool
	// errorName names a registered error (WithNamedError) for the dead
	// letter's x-exception-fqcn; nil: none registered.
	errorName func(error) string
	// delays is consumer.retry-delays; nil: retries in process only.
	delays []time.Duration
}

func newRetryPolicy(c ConsumerConfig) retryPolicy {
	p := retryPolicy{maxAttempts: c.MaxAttempts, initial: c.BackOffInitialInterval, multiplier: c.BackOffMultiplier, max: c.BackOffMaxInterval}
	if len(c.RetryDelays) > 0 {
		// Non-blocking retries: one attempt per delivery, the broker
		// redelivers after each delay (retrytopics.go).
		p.maxAttempts, p.delays = 1, c.RetryDelays
	}
	return p
}

// warnRetryKeysUnused warns, at start-up, about in-process retry keys that
// b sets while consumer.retry-delays makes them not apply: each delivery
// then gets one attempt. One that b inherits from stream.default is
// warned of only when retry-delays is stream.default's too (the default
// contradicts itself): a binding that sets its own retry-delays chose
// them over the default's in-process retries, which still apply to the
// other bindings.
func (a *App) warnRetryKeysUnused(b *Binding) {
	if len(b.cfg.Consumer.RetryDelays) == 0 {
		return
	}
	prefixes := []string{"stream.bindings." + b.name}
	if !a.cfg.originSet("stream.bindings." + b.name + ".consumer.retry-delays") {
		prefixes = append(prefixes, "stream.default")
	}
	for _, k := range []string{"max-attempts", "back-off-initial-interval", "back-off-multiplier", "back-off-max-interval"} {
		for _, prefix := range prefixes {
			if key := prefix + ".consumer." + k; a.cfg.originSet(key) {
				a.log.Warn("consumer key does not apply: with consumer.retry-delays each delivery gets one attempt, the broker redelivers after each delay",
					"property", key, "origin", a.cfg.Origins[strings.ToLower(key)], "binding", b.name, "retry-delays", durationList(b.cfg.Consumer.RetryDelays))
				break
			}
		}
	}
}

// backOff returns the wait after the given failed attempt (1-based).
func (p retryPolicy) backOff(attempt int) time.Duration {
	d := float64(p.initial)
	for i := 1; i < attempt; i++ {
		d *= p.multiplier
		if d >= float64(p.max) {
			return p.max
		}
	}
	if time.Duration(d) > p.max {
		return p.max
	}
	return time.Duration(d)
}

// sleepCtx waits d or until ctx ends; it reports whether the full wait
// elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	return sleepUntil(ctx, d, nil) // a nil channel: no state change ends it
}

// PanicError is a recovered handler panic. It is retried and dead-lettered
// like any other error; Stack is the goroutine's stack at the panic.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panic: %v", e.Value) }

// Unwrap exposes a panic value that is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// safeCall runs f, turning a panic into a *PanicError.
func safeCall(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}

// emitRetrying sends v with emit, retrying with back-off (100ms doubling to
// 5s) until it succeeds or ctx ends. Permanent errors are not retried: the
// core has logged them, and the caller moves on to the next value.
func emitRetrying[T any](ctx context.Context, emit Emitter[T], v T) error {
	p := retryPolicy{initial: 100 * time.Millisecond, multiplier: 2, max: 5 * time.Second}
	for attempt := 1; ; attempt++ {
		err := emit(ctx, v)
		if err == nil || IsPermanent(err) {
			return nil
		}
		if !sleepCtx(ctx, p.backOff(attempt)) {
			return nil
		}
	}
}

// durationList formats ds as Go prints the list ([200ms 1s 1m0s]): the
// telemetry logger renders a []time.Duration attribute through JSON, as
// numbers of nanoseconds ([2e+08 1e+09 6e+10]).
func durationList(ds []time.Duration) string { return fmt.Sprint(ds) }
