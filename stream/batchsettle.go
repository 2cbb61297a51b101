package stream

import (
	"context"
	"errors"
	"slices"
)

// BatchSettler settles the first n messages of the batch being handled
// before its [BatchHandler] returns: Spring Kafka's DefaultErrorHandler,
// which commits the offsets of the records before the failed one of a
// BatchListenerFailedException and only then retries it, and which
// recovers (dead-letters) a record whose retries are spent and commits
// past it before it goes on with the records after it.
//
// A binder that can settle a prefix of a batch early passes the
// BatchHandler a ctx made with [WithBatchSettler] (one settler per
// handler call). Lifecycle contract:
//   - The core calls it only during the BatchHandler call (every call
//     happens before the handler returns), never concurrently with
//     itself, with n growing from call to call (0 < n <= len(ms)).
//     outcome is the outcome of ms[:n], in the form a BatchHandler
//     returns (nil: all of them handled; else a [*BatchOutcome] indexed
//     from ms[0], read with [BatchMessageErr]): each of ms[from:n] (from:
//     the n of the previous call, 0 at first) is to be settled now by its
//     own outcome, as the binder settles a message of the batch when the
//     handler returns — a handled one acknowledged (Kafka commits past
//     it: its partition's contiguous prefix; the others ack it), one that
//     failed for good dead-lettered with its own cause (or dropped
//     without a DLQ). The core calls it when the function failed at a
//     message (stream.BatchFailedAt), before that message's retries
//     start (the handled ones before it), and when a message failed for
//     good (its ErrorHandler called), before the function goes on with
//     the messages after it (the handled ones before it and it), so that
//     a crash during the retries or the messages after does not deliver
//     them again.
//   - No message of ms[:n] is Nak'ed (wraps [ErrNak]: left for
//     redelivery, requeue-rejected): the core settles those only when
//     the handler returns, with the rest of the batch. A binder settles
//     early only the messages before the first Nak'ed one it is given
//     (batchprefix does), leaving it and the rest to the outcome.
//   - The binder settles ms[from:n] before the settler returns — a dead
//     letter the DLQ refuses for now holds the call, as it holds the
//     settlement at the batch's end, and is held as it is there: the hold
//     is not a handler call (Pause does not wait for it, and a binder
//     with a bound on concurrent calls gives up the call's place), and
//     the settler returns only once the binding is not paused (the
//     function never goes on on a paused binding) — or reports why it
//     could not (a lost channel, connection, a stop while a dead letter
//     was held): those
//     messages then come again, as after a crash (Kafka commits nothing
//     past the first of them, not even at the batch's end), and the core
//     only logs it. Either way they count as settled.
//   - A settler returns (a wrap of) [ErrBatchStop] when the function must
//     not go on with the messages after ms[:n]: the binder cannot count
//     the call in flight again — a Stop or a rebalance (a lost channel,
//     session, partition) began while the dead letter was held, or the
//     hold was cut short by it. ms[:n] count as settled as above (a held
//     dead letter given back comes again). The core then ends the batch
//     at once, without calling the function (or the ErrorHandler) again:
//     ms[n:] are left for redelivery (Nak'ed in the handler's outcome,
//     the first of them wrapping ErrBatchStop), counted neither
//     processed nor failed.
//   - When the BatchHandler returns err, the binder settles only the
//     messages not settled early, ms[n:], by [BatchTail](err, n): never an
//     early-settled message again, whatever err says (a plain error, a
//     Nak, a panic's), so no acknowledgement or dead letter is sent twice
//     and no settled message is redelivered.
//
// A binder that passes none gets no call: it settles the whole batch when
// the handler returns, as before. [BatchSettlerFrom] reads it. The core
// keeps it to itself: the batch function and the ErrorHandler get a ctx
// without it.
type BatchSettler func(n int, outcome error) error

// ErrBatchStop is what a [BatchSettler] returns (wrapped or not) when the
// binding is stopping (or lost its channel, session or partition) while
// it settled: the core ends the batch without calling the function
// again, the messages after the settled ones left for redelivery.
var ErrBatchStop = errors.New("stream: batch stopped: the binding is stopping; the rest of the batch is left for redelivery")

type batchSettlerKey struct{}

// WithBatchSettler returns ctx carrying s, for a BatchHandler call (see
// [BatchSettler]).
func WithBatchSettler(ctx context.Context, s BatchSettler) context.Context {
	return context.WithValue(ctx, batchSettlerKey{}, s)
}

// BatchSettlerFrom is the settler of the BatchHandler call whose ctx is
// ctx (nil when its binder passes none).
func BatchSettlerFrom(ctx context.Context) BatchSettler {
	s, _ := ctx.Value(batchSettlerKey{}).(BatchSettler)
	return s
}

// BatchTail is the outcome of ms[n:], the messages not settled early
// ([BatchSettler]), of a batch whose BatchHandler returned err: err itself
// when it applies to every message (nil, a plain error), else the part of
// the [*BatchOutcome] from n on, which is nil when every one of those was
// handled. Its indices count from ms[n].
func BatchTail(err error, n int) error {
	var o *BatchOutcome
	if n <= 0 || err == nil || !errors.As(err, &o) {
		return err
	}
	if n >= len(o.errs) {
		return nil
	}
	tail := o.errs[n:]
	if !slices.ContainsFunc(tail, func(e error) bool { return e != nil }) {
		return nil
	}
	return &BatchOutcome{errs: slices.Clone(tail)}
}
