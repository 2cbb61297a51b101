package stream

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BatchFailedAt is what a batch function (consumer.batch-mode: it takes
// a slice) returns when one message of its batch failed: index is into the
// slice the function got; the messages before it were handled, the one at
// it failed with err, and those after it were not handled. It is Spring
// Kafka's BatchListenerFailedException(msg, index). An error wrapping it
// works as well (errors.As).
//
// The messages before index are acknowledged at once, before the failed
// message's retries start, where the binder can (each of streambind's:
// [BatchSettler]; Spring Kafka's DefaultErrorHandler commits them first
// too), so that a crash during the retries does not deliver them again;
// the rest of the batch is settled when its handling ends. The retries
// (max-attempts, back-off) are the failed message's: the function is
// called again with the rest of the batch starting at it — a shorter
// slice, so index 0 of that call is the failed message. A failure at a
// later index of a retry starts that message's own count of attempts.
// Once the failed message's attempts are spent it alone fails for good
// (the binding's ErrorHandler is called for it; it is dead-lettered with
// err as its x-exception-message, or dropped) and is settled at once with
// the handled ones before it (Spring Kafka's DefaultErrorHandler recovers
// it and commits past it), and then the function is called with the
// messages after it, with fresh attempts. A plain error instead applies
// to every message of the (remaining) batch, as it always did.
//
// err may be [Permanent]: that message is not retried. err may be (or
// wrap) [ErrNak]: the message at index and those after it are left for
// redelivery, the ones before it are acknowledged (every binder settles
// the messages of a batch one by one; one that could not would Nak the
// whole batch: see [BatchHandler]). An index outside the slice makes err
// the whole batch's failure (a WARN names the binding).
func BatchFailedAt(index int, err error) error {
	if err == nil {
		err = errors.New("batch message failed")
	}
	return &batchFailedError{index: index, err: err}
}

// batchFailedError is BatchFailedAt's error.
type batchFailedError struct {
	index int
	err   error
}

func (e *batchFailedError) Error() string {
	return fmt.Sprintf("batch message at index %d failed: %v", e.index, e.err)
}

func (e *batchFailedError) Unwrap() error { return e.err }

// cause is the failed message's error; err is what the function returned
// (e, or an error wrapping it): Permanent(BatchFailedAt(...)) makes it
// permanent.
func (e *batchFailedError) cause(err error) error {
	if IsPermanent(err) && !IsPermanent(e.err) {
		return Permanent(e.err)
	}
	return e.err
}

// batchIndexIn checks the index of a BatchFailedAt that err is (or wraps)
// against n, the length of the slice the function got (which may be
// shorter than the rest of the batch: see handleBatch): outside it, err is
// the failure of the whole slice, with a WARN.
func (rt *runtimeBinding) batchIndexIn(err error, n int) error {
	var bf *batchFailedError
	if err == nil || !errors.As(err, &bf) || (bf.index >= 0 && bf.index < n) {
		return err
	}
	cause := bf.cause(err)
	rt.log.Warn("batch function returned BatchFailedAt with an index outside its batch; the whole batch failed",
		"index", bf.index, "batch_size", n, "error", boundedErr(cause))
	return cause
}

// batchFailKey is the context key of the messages an ErrorHandler is called
// for when a batch attempt fails for good (retryAfter): a func giving them,
// since which they are (the rest of the batch, or its failed message) is
// known only once the last attempt returned.
type batchFailKey struct{}

// batchMoved is what a batch attempt returns inside retryAfter when its
// BatchFailedAt names a message past the one being retried: that one was
// handled at last, and the new one starts its own attempts (runBatch). It
// wraps ErrNak so that retryAfter hands it back at once, untouched.
type batchMoved struct{ cause error }

func (e *batchMoved) Error() string { return "batch failure moved on: " + e.cause.Error() }
func (e *batchMoved) Unwrap() error { return ErrNak }

// batchRun is the state of one batch's handling (runBatch): the part of
// the batch the next attempt gets, and what the last attempt said.
type batchRun struct {
	rt         *runtimeBinding
	full, envs []Envelope // as received (ErrorHandler), as the function gets them
	cur        int        // the next attempt gets envs[cur:]
	started    bool       // an attempt was made since cur's attempts began
	whole      bool       // the last failure was the whole of envs[cur:]'s
}

// attempt calls the function with envs[cur:] and interprets its error.
func (b *batchRun) attempt(ctx context.Context) error {
	rest := b.envs[b.cur:]
	// Recovered here, not only by the callers: a panic is a failure of
	// the whole of rest, as a plain error is, not of the message the last
	// BatchFailedAt named.
	err := safeCall(func() error {
		return b.rt.handleBatch(context.WithValue(ctx, batchKey{}, b.full[b.cur:]), rest, b.cur, len(b.envs))
	})
	if err == nil {
		return nil
	}
	retry := b.started
	b.started = true
	var bf *batchFailedError
	if !errors.As(err, &bf) {
		b.whole = true
		return err
	}
	cause := bf.cause(err)
	if bf.index < 0 || bf.index >= len(rest) { // handleBatch checked it: not expected
		b.whole = true
		return cause
	}
	b.whole = false
	b.cur += bf.index
	if retry && bf.index > 0 {
		return &batchMoved{cause: cause}
	}
	return cause
}

// failing is the messages the ErrorHandler is called for when the last
// attempt's failure is final.
func (b *batchRun) failing() []Envelope {
	if b.whole || b.cur >= len(b.full) {
		return b.full[b.cur:]
	}
	return b.full[b.cur : b.cur+1]
}

// runBatch handles a batch (envs; full as received) with retries, message
// by message where the function says which failed (BatchFailedAt, or a
// message that cannot be decoded), and counts each message. It returns nil,
// the error of every message, or a *BatchOutcome.
func (rt *runtimeBinding) runBatch(ctx context.Context, full, envs []Envelope) error {
	n := len(envs)
	stats := &rt.in.stats
	start := time.Since(clockBase)
	sec := stats.handling.begin(start, n)
	settled := 0 // messages the binder was told to acknowledge at once
	// Those are no longer in flight; the rest are until the call ends.
	defer func() { stats.handling.end(sec, n-settled) }()
	b := &batchRun{rt: rt, full: full, envs: envs}
	ctx = context.WithValue(ctx, batchFailKey{}, b.failing)
	var outs []error // each message's outcome; made at the first failed one
	setOut := func(from, to int, err error) {
		if outs == nil {
			outs = make([]error, n)
		}
		for i := from; i < to; i++ {
			outs[i] = err
		}
	}
	// The messages before the failing one are settled by the binder at
	// once, by their outcomes, before its retries start or, when it failed
	// for good, before the function goes on with the ones after it: the
	// handled ones acknowledged, each one failed for good dead-lettered or
	// dropped. See BatchSettler.
	settler := BatchSettlerFrom(ctx)
	// The function and the ErrorHandler get a ctx without it: only the
	// core, which judges the messages, may have the binder settle them.
	ctx = WithBatchSettler(ctx, nil)
	// settlePrefix reports false when the binder said the batch is to end
	// (ErrBatchStop): the function is not called again, and the messages
	// from b.cur on are left for redelivery.
	settlePrefix := func() bool {
		// Every message before b.cur has its outcome: handled, or failed
		// for good alone (a Nak'ed one, or a failure of the whole rest,
		// ends the loop before any further settlement).
		to := b.cur
		if settler == nil || to <= settled {
			return true
		}
		var outcome error
		if outs != nil {
			outcome = NewBatchOutcome(outs[:to])
		}
		// A failed one held for its dead letter counts in flight as the
		// binder holds it (ConsumerSpec.Holding), as at the batch's end.
		stats.handling.end(sec, to-settled)
		settled = to
		err := safeCall(func() error { return settler(to, outcome) })
		switch {
		case err == nil:
		case errors.Is(err, ErrBatchStop):
			rt.log.Info("batch: the binding is stopping or paused while a dead letter was held; the rest of the batch is left for redelivery",
				"settled", to, "left", n-to, "error", boundedErr(err))
			return false
		default:
			rt.log.Warn("batch: the binder could not settle the messages before the failing one; they may be delivered again",
				"messages", to, "error", boundedErr(err))
		}
		return true
	}
	// stopRest leaves the messages from b.cur on for redelivery: the
	// binder cannot let the function go on (ErrBatchStop).
	stopRest := func() {
		setOut(b.cur, n, fmt.Errorf("%w: %w", ErrNak, ErrBatchStop))
	}
	counted := 0 // handled messages already counted processed (succeeded)
	segStart := start
	err := safeCall(func() error { return b.attempt(ctx) })
	for {
		if err == nil {
			rt.succeeded(segStart)
			counted++
			break
		}
		var mv *batchMoved
		if errors.As(err, &mv) {
			// The retried message was handled: the next one's count of
			// attempts starts with the failure just returned.
			segStart, err = time.Since(clockBase), mv.cause
		}
		if !settlePrefix() {
			stopRest()
			break
		}
		var first Envelope // of the messages failing; none of an empty batch
		if b.cur < n {
			first = full[b.cur]
		}
		err = rt.retryAfter(ctx, first, b.attempt, segStart, err)
		if err == nil {
			counted++
			break
		}
		if errors.As(err, &mv) {
			err = mv
			continue
		}
		if b.whole || errors.Is(err, ErrNak) {
			// The rest of the batch: failed for good as a whole (retryAfter
			// counted one of its messages), or left for redelivery.
			if !errors.Is(err, ErrNak) {
				if extra := int64(n - b.cur - 1); extra > 0 {
					stats.failed.Add(extra)
					if rt.deadLetters() {
						stats.deadLettered.Add(extra)
					} else {
						stats.dropped.Add(extra)
					}
				}
			}
			setOut(b.cur, n, err)
			break
		}
		// The failed message alone failed for good (counted by
		// retryAfter); the function goes on with the ones after it.
		setOut(b.cur, b.cur+1, err)
		b.cur++
		b.started = false
		if b.cur == n {
			break
		}
		// Settled (dead-lettered or dropped) with the messages before it
		// before the function goes on, as Spring Kafka's
		// DefaultErrorHandler recovers a record and commits past it.
		if !settlePrefix() {
			stopRest()
			break
		}
		segStart = time.Since(clockBase)
		err = safeCall(func() error { return b.attempt(ctx) })
	}
	handled := n
	for _, e := range outs {
		if e != nil {
			handled--
		}
	}
	if extra := int64(handled - counted); extra > 0 {
		stats.processed.Add(extra)
	}
	if outs == nil {
		return nil
	}
	for _, e := range outs[1:] {
		if e != outs[0] {
			return &BatchOutcome{errs: outs}
		}
	}
	return outs[0] // every message's, as before per-message outcomes
}
