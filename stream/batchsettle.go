package stream

import (
	"context"
	"errors"
	"slices"
)

// BatchSettler acknowledges the first n messages of the batch being
// handled before its [BatchHandler] returns: Spring Kafka's
// DefaultErrorHandler, which commits the offsets of the records before the
// failed one of a BatchListenerFailedException and only then retries it.
//
// A binder that can settle a prefix of a batch early passes the
// BatchHandler a ctx made with [WithBatchSettler] (one settler per
// handler call). Lifecycle contract:
//   - The core calls it only during the BatchHandler call (every call
//     happens before the handler returns), never concurrently with
//     itself, with n growing from call to call (0 < n <= len(ms)): the
//     messages ms[:n] were handled (their outcome is nil) and are to be
//     acknowledged now — Kafka commits past them (their partition's
//     contiguous prefix), the other binders ack them. It calls it when
//     the function failed at a message (stream.BatchFailedAt), before that
//     message's retries start, so that a crash during the retries does not
//     deliver the handled messages again.
//   - The binder acknowledges ms[from:n] (from: the n of the previous
//     call, 0 at first) before the settler returns, or reports why it
//     could not (a lost channel, connection): those messages then come
//     again, as after a crash, and the core only logs it. Either way they
//     count as settled.
//   - When the BatchHandler returns err, the binder settles only the
//     messages not settled early, ms[n:], by [BatchTail](err, n): never an
//     early-settled message again, whatever err says (a plain error, a
//     Nak, a panic's), so no acknowledgement is sent twice and no
//     acknowledged message is dead-lettered or redelivered.
//
// A binder that passes none gets no call: it settles the whole batch when
// the handler returns, as before. [BatchSettlerFrom] reads it. The core
// keeps it to itself: the batch function and the ErrorHandler get a ctx
// without it.
type BatchSettler func(n int) error

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
