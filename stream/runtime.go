package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// FailedMessage describes a message that failed every attempt; it is what a
// binding's [ErrorHandler] receives.
type FailedMessage struct {
	Binding  string
	Envelope Envelope
	Err      error
	Attempts int
	// DeadLettered is true when the binder is about to dead-letter it, false
	// when it is dropped.
	DeadLettered bool
}

// ErrorHandler is called for each message of a binding that failed for good,
// before the binder dead-letters or drops it (not for one the binder
// requeues: see [RejectRequeuer]). It must not block for long.
type ErrorHandler func(ctx context.Context, m FailedMessage)

// messageHandler is one bound function's per-message work (decode, call,
// encode, send), without retries.
type messageHandler interface {
	handle(ctx context.Context, env Envelope) error
}

// supplierRunner drives a supplier until ctx ends. A polled supplier's
// value is sent with send, which outlives ctx until the shutdown deadline:
// the value has no input to come again from, so a send in flight when
// shutdown begins is finished (or retried) rather than cut.
type supplierRunner interface {
	run(ctx, send context.Context)
}

// runtimeBinding is the runtime of one bound function: its bindings,
// conversion contexts and retry policy.
type runtimeBinding struct {
	fn     *boundFunc
	in     *Binding // nil for suppliers
	out    *Binding // nil for consumers
	inCx   convCtx
	outCx  convCtx
	retry  retryPolicy
	onFail ErrorHandler
	log    *slog.Logger
	h      messageHandler
	// lazyHeaders: the binding's consumer spec asked for lazy headers
	// (readsNoHeaders): process loads them only when a message fails.
	lazyHeaders bool
	// idem is the idempotent consumer's handler around h (UseIdempotency,
	// idempotent.go); nil: none.
	idem Handler
	// stopping is closed when the app begins to shut down: a message in
	// back-off is then Nak'ed at once rather than holding up shutdown.
	stopping <-chan struct{}
	// requeueRejected: the binder requeues a message that failed every
	// attempt (see RejectRequeuer).
	requeueRejected bool
	// anonDeadLetters: the binder dead-letters the failed messages of
	// this binding though it has no group (see AnonymousDeadLetterer).
	anonDeadLetters bool
	// async is the output's producer when the binding processes pipelined
	// (processAsync); nil: every output is confirmed before the handler
	// returns.
	async AsyncProducer
	// sendWarn paces the warning that an output could not be sent (shared
	// by a router's copies: one binding).
	sendWarn *warnGate
	// bridge sends the outputs that name their destination
	// (HeaderSendToDestination).
	bridge *Bridge
	// hdrMaps are the function's header mappings (headermapping.go); nil:
	// none.
	hdrMaps *headerMappings
}

// sendError marks a failure to send a function's output: after the retries
// the input is left for redelivery (Nak) rather than dead-lettered, since the
// message is not at fault. A permanent one (the binder refuses the message)
// is marked too, so that the logs name the output that failed.
type sendError struct {
	err error
	out *Binding // the output binding whose send failed
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// process is the binder-facing Handler of an input binding: it runs the
// handler with retries and panic recovery and turns the result into Ack,
// Nak or Term.
func (rt *runtimeBinding) process(ctx context.Context, env Envelope) (err error) {
	if rt.heldBack() {
		return errBehindGivenBack
	}
	defer func() { err = rt.givenBack(err, true) }()
	if !rt.lazyHeaders {
		env.LoadHeaders() // a binder's lazy headers, unasked: a no-op otherwise
	}
	if t := rt.in.tracing; t != nil {
		var span trace.Span
		ctx, span = t.startProcess(ctx, rt.in, env)
		defer func() { endSpan(span, err) }()
	}
	if !rt.reshapesInput() {
		// The usual case: the handler gets the message the retries see,
		// without copies of an Envelope too large for registers.
		return rt.processOne(ctx, env)
	}
	env, full := rt.inputOf(env)
	return rt.withRetries(ctx, full, 1, func(ctx context.Context) error { return rt.attempt(ctx, env) })
}

// processOne is withRetries of one message as received, with its first
// attempt called directly rather than through closures (safeAttempt):
// the closure a retry calls is made only once the first attempt failed.
func (rt *runtimeBinding) processOne(ctx context.Context, env Envelope) error {
	stats := &rt.in.stats
	start := time.Since(clockBase)
	sec := stats.handling.begin(start, 1)
	defer stats.handling.end(sec, 1)
	err := rt.safeAttempt(ctx, env)
	if err == nil {
		rt.succeeded(start)
		return nil
	}
	// The retries, the dead letter and the error handler see every header.
	env.LoadHeaders()
	return rt.retryAfter(ctx, env, func(ctx context.Context) error { return rt.attempt(ctx, env) }, start, err)
}

// safeAttempt is safeCall of attempt.
func (rt *runtimeBinding) safeAttempt(ctx context.Context, env Envelope) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return rt.attempt(ctx, env)
}

// reshapesInput reports whether inputOf changes a received message
// (retry-delays, header-mode none).
func (rt *runtimeBinding) reshapesInput() bool {
	return rt.retry.delays != nil || rt.in.cfg.Consumer.HeaderMode == HeaderModeNone
}

// loadedHeaders returns envs, or a copy of it with their lazy headers
// loaded when any has some (the binder's slice is left as it is).
func loadedHeaders(envs []Envelope) []Envelope {
	for i := range envs {
		if envs[i].lazy != nil {
			out := slices.Clone(envs)
			for j := range out {
				out[j].LoadHeaders()
			}
			return out
		}
	}
	return envs
}

// readsNoHeaders reports whether the binding's handler reads no header
// of a message on its way to success, so that its consumer can be bound
// with ConsumerSpec.LazyHeaders: a consumer of a payload type (not a
// Message), without tracing, header mappings, an idempotent consumer,
// retry-delays or header-mode none. Its content type is read with
// Envelope.Header; a message that fails has its headers loaded
// (processOne) before the retries, the dead letter or the error handler
// see it.
func (rt *runtimeBinding) readsNoHeaders() bool {
	h, ok := rt.h.(interface{ readsNoHeaders() bool })
	return ok && h.readsNoHeaders() && rt.idem == nil && rt.in.tracing == nil && rt.hdrMaps == nil && !rt.reshapesInput()
}

// inputOf returns what the handler gets of a received message (without
// the retry mark; without headers under header-mode none) and the
// message the retries and the dead letter see (with retry-delays, its
// retry headers count attempts: retrytopics.go).
func (rt *runtimeBinding) inputOf(env Envelope) (handled, full Envelope) {
	if rt.retry.delays != nil {
		env, _ = takeRetryMark(env) // retrytopics.go
	}
	full = env
	if rt.in.cfg.Consumer.HeaderMode == HeaderModeNone {
		env.Headers = nil // the binding's content type applies
		if rt.retry.delays == nil {
			full = env
		}
	}
	return env, full
}

// processAsync is the AsyncHandler of a function binding whose output can
// be sent without waiting (pipelined processing): it decodes, calls the
// function and hands the output to SendAsync, and done gets the result
// when the output's broker answered. When the function fails, the
// synchronous way of process follows inline — retries with back-off, then
// a retry topic or the dead letter — holding back the input as process
// does; when the send fails, see pipeCall.sent.
func (rt *runtimeBinding) processAsync(ctx context.Context, env Envelope, done func(error)) {
	if rt.heldBack() {
		done(errBehindGivenBack)
		return
	}
	env.LoadHeaders() // never asked for here (a function): a no-op
	if t := rt.in.tracing; t != nil {
		var span trace.Span
		ctx, span = t.startProcess(ctx, rt.in, env)
		end := done
		done = func(err error) { endSpan(span, err); end(err) }
	}
	c := &pipeCall{Context: ctx, rt: rt, done: done, start: time.Since(clockBase)}
	c.sec = rt.in.stats.handling.begin(c.start, 1)
	c.env, c.full = rt.inputOf(env)
	err := safeCall(func() error { return rt.attempt(c, c.env) })
	if c.started {
		// The send is the handler's last step: its result comes to
		// c.sent. An error here is a panic after the hand-over (in
		// SendAsync, say): it settles the input unless the send's result
		// came first.
		if err != nil {
			c.sent(err)
		}
		return
	}
	if err == nil {
		rt.succeeded(c.start) // no output (nil, Skip)
		c.finish(nil)
		return
	}
	c.finish(rt.retryAfter(ctx, c.full, c.attempt, c.start, err))
}

// pipeCall is one message of processAsync: how its handler call hands
// the output send to the producer without waiting (send finds it in the
// call's context: a pipeCall is that context, the binder's with itself
// as the value of pipeSlotKey) and where the send's result goes. One
// allocation per message for all of it.
type pipeCall struct {
	context.Context // the binder's, for retries
	rt              *runtimeBinding
	env, full       Envelope // as handled; with the retry headers
	done            func(error)
	start           time.Duration
	sec             int64       // for stats.handling.end
	started         bool        // the output went to SendAsync
	settled         atomic.Bool // sent ran: done is called once
}

type pipeSlotKey struct{}

// Value is the binder's context's, with c as the value of pipeSlotKey.
func (c *pipeCall) Value(key any) any {
	if _, ok := key.(pipeSlotKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// finish ends the message's handling: done gets err.
func (c *pipeCall) finish(err error) {
	c.rt.in.stats.handling.end(c.sec, 1)
	c.done(c.rt.givenBack(err, true))
}

// attempt is one synchronous attempt, for the retries.
func (c *pipeCall) attempt(ctx context.Context) error { return c.rt.attempt(ctx, c.env) }

// sent takes the result of the output's SendAsync, as send would have
// returned it: success settles the input. A failure Naks it (marked
// ErrPipelinedSend) without retrying here: the binder settles in input
// order, so the input comes back to the synchronous Handler (with its
// retries) once it is the oldest unsettled one, after redelivery-delay —
// one message at a time, inside the binder's concurrency bounds, rather
// than every failed message of a full window re-running the function at
// once when the output goes down. A permanent failure (the output refused
// for good) is the message's: it takes the retry path's end (dead letter
// or drop, the binding's ErrorHandler) on a goroutine of its own — never
// user code on the producer's goroutine, which sent runs on.
func (c *pipeCall) sent(err error) {
	if !c.settled.CompareAndSwap(false, true) {
		return
	}
	rt := c.rt
	if err == nil {
		rt.succeeded(c.start)
		c.finish(nil)
		return
	}
	if IsPermanent(err) {
		go func() { c.finish(rt.retryAfter(c.Context, c.full, c.attempt, c.start, err)) }()
		return
	}
	rt.in.stats.retried.Add(1)
	rt.log.Debug("pipelined output send failed; the input is handled again when it is the oldest unsettled one", "error", boundedErr(err))
	c.finish(fmt.Errorf("%w: %w: %w", ErrNak, ErrPipelinedSend, err))
}

// pipelinable returns the output's producer when the binding can process
// pipelined: a function (not a consumer, not batch-mode, not idempotent —
// the idempotency mark is written in the handler's transaction, before the
// output would be confirmed) with max-in-flight above 1 whose output's
// producer can send without waiting; nil otherwise.
func (rt *runtimeBinding) pipelinable() AsyncProducer {
	if rt.in == nil || rt.out == nil || rt.h == nil || rt.idem != nil ||
		rt.in.cfg.Consumer.BatchMode || rt.in.cfg.Consumer.MaxInFlight <= 1 {
		return nil
	}
	return rt.out.asyncProducer()
}

// pipelineWindow returns the window of a pipelined function binding (the
// smallest its consumers report), or 0 and why it is not pipelined, for
// the "binding bound" log line.
func (rt *runtimeBinding) pipelineWindow(consumers []Consumer) (int, string) {
	if rt.async != nil {
		window := 0
		for _, c := range consumers {
			pr, ok := c.(PipelineReporter)
			n := 0
			if ok {
				n = pr.PipelineWindow()
			}
			if n <= 0 {
				return 0, "false (the input's binder " + rt.in.binderType + " hands it one message at a time here)"
			}
			if window == 0 || n < window {
				window = n
			}
		}
		if window > 0 {
			return window, ""
		}
	}
	return 0, rt.notPipelinedWhy()
}

// notPipelinedWhy says why the core offers a function binding no
// AsyncHandler.
func (rt *runtimeBinding) notPipelinedWhy() string {
	switch {
	case rt.in.cfg.Consumer.BatchMode:
		return "false (batch-mode)"
	case rt.idem != nil:
		return "false (idempotency)"
	case rt.in.cfg.Consumer.MaxInFlight <= 1:
		return "false (max-in-flight 1)"
	case rt.out.asyncProducer() == nil:
		return "false (the output's binder " + rt.out.binderType + " sends one message at a time)"
	}
	return "false"
}

// processBatch is the BatchHandler of an input binding in batch mode.
func (rt *runtimeBinding) processBatch(ctx context.Context, envs []Envelope) (err error) {
	if rt.heldBack() {
		return errBehindGivenBack
	}
	// A batch's outcome is not wrapped: the binder reads it message by
	// message (a message given back in its back-off has ErrStopping).
	defer func() { err = rt.givenBack(err, false) }()
	envs = loadedHeaders(envs) // never asked for in batch mode: unasked lazy headers
	var first Envelope
	if len(envs) > 0 {
		first = envs[0]
	}
	if t := rt.in.tracing; t != nil {
		// A batch continues the trace of its first message.
		var span trace.Span
		ctx, span = t.startProcess(ctx, rt.in, first)
		span.SetAttributes(attribute.Int("messaging.batch.message_count", len(envs)))
		defer func() { endSpan(span, err) }()
	}
	// The ErrorHandler of a failed batch gets its messages as received
	// (headers included), as it gets a single message; the handler gets
	// them without headers under header-mode none.
	full := envs
	if rt.in.cfg.Consumer.HeaderMode == HeaderModeNone {
		stripped := make([]Envelope, len(envs))
		for i, e := range envs {
			e.Headers = nil
			stripped[i] = e
		}
		envs = stripped
	}
	// runBatch (batchfail.go) counts input messages, each by its own
	// outcome, not handler calls; retries stay counted per attempt.
	return rt.runBatch(ctx, full, envs)
}

// deadLetters reports whether a message that failed for good is
// dead-lettered (consumer.dlq with a group, or without one where the
// binder dead-letters it: AnonymousDeadLetterer) rather than dropped.
func (rt *runtimeBinding) deadLetters() bool {
	return rt.in.cfg.Consumer.DLQ && (rt.in.group != "" || rt.anonDeadLetters)
}

// isRetryable applies consumer.retryable-exceptions and default-retryable
// to a handler's error; a failed output send is not the handler's and is
// always retried.
func (rt *runtimeBinding) isRetryable(err error) bool {
	if rt.retry.retryable == nil {
		return true
	}
	var se *sendError
	if errors.As(err, &se) {
		return true
	}
	return rt.retry.retryable(err)
}

// clockBase is a fixed instant with a monotonic reading: time.Since of it
// reads the monotonic clock only, where time.Now reads the wall clock too
// (each read costs 60-80ns on a VM, and every message is timed).
var clockBase = time.Now()

// withRetries runs attempt with retries for n messages (a batch's, or
// one) whose first is env.
func (rt *runtimeBinding) withRetries(ctx context.Context, env Envelope, n int, attempt func(context.Context) error) error {
	start := time.Since(clockBase)
	sec := rt.in.stats.handling.begin(start, n)
	defer rt.in.stats.handling.end(sec, n)
	err := safeCall(func() error { return attempt(ctx) })
	if err == nil {
		rt.succeeded(start)
		return nil
	}
	return rt.retryAfter(ctx, env, attempt, start, err)
}

// succeeded counts a message processed that started at start (clockBase).
func (rt *runtimeBinding) succeeded(start time.Duration) {
	rt.in.stats.observeOK(time.Since(clockBase) - start)
}

// retryAfter goes on from a first attempt that failed with err: it retries
// as configured and turns the final failure into Nak, a DelayedRetry or
// Term (dead letter or drop).
func (rt *runtimeBinding) retryAfter(ctx context.Context, env Envelope, attempt func(context.Context) error, start time.Duration, err error) error {
	stats := &rt.in.stats
	n := 1
	for ; ; n++ {
		if n > 1 {
			if err = safeCall(func() error { return attempt(ctx) }); err == nil {
				rt.succeeded(start)
				return nil
			}
		}
		rt.logPanic(err, n)
		if errors.Is(err, ErrNak) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrNak, err)
		}
		if IsPermanent(err) || n >= rt.retry.maxAttempts || !rt.isRetryable(err) {
			break
		}
		stats.retried.Add(1)
		rt.log.Debug("handler failed, retrying", "attempt", n, "error", boundedErr(err))
		if !rt.backOff(ctx, rt.retry.backOff(n)) {
			if rt.shuttingDown() {
				return fmt.Errorf("%w: interrupted during back-off (%w): %w", ErrNak, ErrStopping, err)
			}
			return fmt.Errorf("%w: interrupted during back-off: %w", ErrNak, err)
		}
	}
	stats.observeFailed(time.Since(clockBase) - start)
	var se *sendError
	sent := errors.As(err, &se)
	if sent && !IsPermanent(err) {
		stats.errors.Add(1)
		msg := "output send failed after every attempt; input left for redelivery"
		if ok, held := rt.sendWarn.Allow(time.Now()); ok {
			rt.log.Warn(msg, "attempts", n, "output_binding", se.out.name, "output_binder", se.out.binderName,
				"error", boundedErr(err), "suppressed", held)
		} else {
			rt.log.Debug(msg, "attempts", n, "output_binding", se.out.name, "output_binder", se.out.binderName, "error", boundedErr(err))
		}
		return fmt.Errorf("%w: %w", ErrNak, err)
	}
	// A permanent send error is dead-lettered or dropped: its logs name
	// the output (in a multi-binder app the input's binder is not the one
	// that refused it); the dead letter, the error handler and the caller
	// get the binder's own error, without the marker.
	var outAttrs []any
	if sent {
		outAttrs = []any{"output_binding", se.out.name, "output_binder", se.out.binderName}
		if err == error(se) {
			err = se.err
		}
	}
	cause := err
	if rt.retry.delays != nil {
		var dr *DelayedRetry
		if dr, n = rt.delayRetry(env, err); dr != nil {
			return dr
		}
		re := &retriesExhausted{err: err, attempts: n} // for the dead letter's headers
		if n == 1 {
			re.first = time.Now()
		}
		err = re
	}
	if rt.requeueRejected {
		// Not settled: the binder requeues it after redelivery-delay.
		stats.errors.Add(1)
		rt.log.Warn("message failed; requeued for redelivery (requeue-rejected)", "attempts", n, "error", boundedErr(err))
		return fmt.Errorf("%w: %w", ErrNak, err)
	}
	if rt.retry.errorName != nil {
		err = &namedCause{err: err, name: rt.retry.errorName}
	}
	stats.failed.Add(1)
	dlq := rt.deadLetters()
	if dlq {
		stats.deadLettered.Add(1)
		rt.log.Warn("message failed, sending to the dead-letter queue", append(append([]any{"attempts", n}, outAttrs...), "error", boundedErr(err))...)
	} else {
		stats.dropped.Add(1)
		why := "no dlq configured"
		if rt.in.cfg.Consumer.DLQ {
			why = "dlq needs a consumer group; this binding is anonymous"
		}
		msg := "message failed and is DROPPED (" + why + ")"
		if rt.in.binderType == "rabbit" {
			// The RabbitMQ binder rejects it without requeue, as SCSt
			// does: a dead-letter exchange the queue has by other means
			// (a policy) still routes it there.
			msg = "message failed and is rejected without requeue (" + why + "): dropped unless the queue has a dead-letter exchange (e.g. set by a policy)"
		}
		rt.log.Error(msg, append(append([]any{"attempts", n}, outAttrs...), "error", boundedErr(err))...)
	}
	if rt.onFail != nil {
		// A panic of the ErrorHandler is logged and the message goes on
		// to its dead letter or drop: it is not the message's error, and
		// not every binder recovers a handler's panic (this may run on a
		// goroutine of its own: pipeCall.sent).
		// A failed batch fails each of its messages: the handler is
		// called for each, as its doc says.
		envs := []Envelope{env}
		if failing, ok := ctx.Value(batchFailKey{}).(func() []Envelope); ok {
			envs = failing() // the rest of the batch, or its failed message (runBatch)
		} else if b, ok := ctx.Value(batchKey{}).([]Envelope); ok && len(b) > 0 {
			envs = b
		}
		for _, e := range envs {
			fm := FailedMessage{Binding: rt.in.name, Envelope: e, Err: cause, Attempts: n, DeadLettered: dlq}
			if perr := safeCall(func() error { rt.onFail(ctx, fm); return nil }); perr != nil {
				rt.log.Error("error handler panicked", "error", boundedErr(perr))
			}
		}
	}
	return err
}

// logPanic logs the goroutine stack of a handler panic that err, attempt
// n's failure, holds: the one line that gives it (the retry and
// dead-letter lines give the error's text, the dead letter's
// x-exception-stacktrace the stack again), at ERROR, paced per binding
// (1s doubling to 1m while panics go on; at DEBUG in between, with the
// number held back on the next ERROR).
func (rt *runtimeBinding) logPanic(err error, n int) {
	logPanicOf(rt.log, &rt.in.panicLog, err, "attempt", n)
}

// logSupplierPanic is logPanic for a supplier (polled or composed) or a
// source whose call err holds a panic, paced per output binding, whose
// attributes (binding, destination, binder) the line carries with the
// function's name: the 'supplier failed' and 'source ended with an error'
// lines give the error's text only.
func (rt *runtimeBinding) logSupplierPanic(err error) {
	var pe *PanicError
	if !errors.As(err, &pe) {
		return
	}
	logPanicOf(rt.out.log.With("function", rt.fn.name), &rt.out.panicLog, err)
}

// logPanicOf logs the stack of the panic err holds, if any: ERROR
// 'handler panicked' with attrs, the error and the stack when gate lets it
// through, else DEBUG (with the number held back on the next ERROR).
func logPanicOf(log *slog.Logger, gate *warnGate, err error, attrs ...any) {
	var pe *PanicError
	if !errors.As(err, &pe) {
		return
	}
	level := slog.LevelError
	ok, held := gate.Allow(time.Now())
	if !ok {
		level = slog.LevelDebug
	}
	log.Log(context.Background(), level, "handler panicked", append(attrs, "error", boundedErr(err),
		"stack", panicStack(pe.Stack), "suppressed", held)...)
}

// batchKey is the context key of the messages of the batch being handled
// (processBatch), for the ErrorHandler of a failed batch.
type batchKey struct{}

// backOff waits d unless ctx ends or the app begins to stop.
func (rt *runtimeBinding) backOff(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-rt.stopping:
	}
	return false
}

// send partitions and sends one encoded output. value is the output before
// encoding, for the partition key; it is only evaluated when partitioned.
// A function's output waits while the output binding is stopped or
// paused (awaitOutput).
func (rt *runtimeBinding) send(ctx context.Context, env Envelope, value func() any) error {
	for {
		if rt.in != nil && rt.out.State() != StateStarted {
			if err := rt.awaitOutput(ctx, rt.out); err != nil {
				return err
			}
		}
		var err error
		if c := rt.pipeSlot(ctx); c != nil {
			if err = rt.out.sendAsync(ctx, rt.async, env, value, c); err == nil {
				return nil
			}
		} else if err = rt.out.send(ctx, env, value); err == nil {
			return nil
		}
		if !rt.heldAgain(rt.out, err) {
			return &sendError{err, rt.out}
		}
	}
}

// pipeSlot returns the pipelined call ctx is, when the output is to be
// handed to SendAsync (see processAsync); nil otherwise.
func (rt *runtimeBinding) pipeSlot(ctx context.Context) *pipeCall {
	if rt.async == nil {
		return nil
	}
	if c, ok := ctx.Value(pipeSlotKey{}).(*pipeCall); ok && !c.started {
		return c
	}
	return nil
}

// awaitOutput waits, for a function's output (rt.in set; a supplier's
// emit waits on its own), until out is started: a stopped or paused
// output holds the function's sends, as it holds a supplier's, rather
// than failing them — the input would be left for redelivery and the
// function called again, with its side effects, every redelivery-delay
// for as long as the output stays stopped. The input is acknowledged once
// the send went through. The wait ends with a Nak (the input is left for
// redelivery; no error, no retry counted) when the input binding is being
// stopped or paused (its Stop or Pause waits for this handler), the app
// shuts down, or ctx ends.
func (rt *runtimeBinding) awaitOutput(ctx context.Context, out *Binding) error {
	st := out.State()
	if rt.in == nil || st == StateStarted {
		return nil
	}
	if out.firstHeld() {
		until := "started"
		if st == StatePaused {
			until = "resumed"
		}
		out.log.Info(fmt.Sprintf("output %s is %s: function %s's outputs wait until it is %s (its input messages stay in flight, unacknowledged, meanwhile)", out.name, st, rt.fn.name, until),
			"function", rt.fn.name, "input_binding", rt.in.name)
	}
	if out.waitStartedOr(ctx, rt.stopping, rt.in.halting()) {
		return nil
	}
	why := "input binding " + rt.in.name + " is stopping or pausing"
	select {
	case <-rt.stopping:
		why = "the app is shutting down"
	default:
		if ctx.Err() != nil {
			why = context.Cause(ctx).Error()
		}
	}
	return fmt.Errorf("%w: %w; the input is left for redelivery (%s)", ErrNak, out.notStarted(out.State()), why)
}

// heldAgain reports whether err is the refusal of a function's send by
// out that was stopped or paused after awaitOutput saw it started: the
// send is made again once out is started, without calling the function
// again.
func (rt *runtimeBinding) heldAgain(out *Binding, err error) bool {
	return rt.in != nil && errors.Is(err, ErrBindingStopped) && out.State() != StateStarted
}

// sendHeld is one send of a function's output through out (send) that
// waits while out is stopped or paused, as rt.send does.
func (rt *runtimeBinding) sendHeld(ctx context.Context, out *Binding, send func() error) error {
	for {
		if err := rt.awaitOutput(ctx, out); err != nil {
			return err
		}
		err := send()
		if err == nil || !rt.heldAgain(out, err) {
			return err
		}
	}
}

// functionHandler is the typed fast path of a registered function.
type functionHandler[In, Out any] struct {
	rt  *runtimeBinding
	fn  func(context.Context, In) (Out, error)
	in  codec[In]
	out codec[Out]
}

func (h *functionHandler[In, Out]) handle(ctx context.Context, env Envelope) error {
	rt := h.rt
	v, err := h.in.decode(&rt.inCx, env, h.in.contentType(env, rt.inCx.contentType))
	if err != nil {
		return err
	}
	r, err := h.fn(ctx, v)
	if err != nil {
		if errors.Is(err, Skip) {
			return nil
		}
		return err
	}
	if h.out.isNil(r) {
		return nil
	}
	data, hdr, err := h.out.encode(&rt.outCx, r)
	if err != nil {
		return err
	}
	if !h.out.message {
		hdr = inheritHeaders(env.Headers) // as SCSt: a payload output carries the input's headers
	} else {
		hdr = withoutInputID(hdr, env.Headers)
	}
	var value func() any
	if rt.out.part != nil || h.out.message && hdr[HeaderSendToDestination] != "" {
		value = func() any { return r } // for the partitioning of where it goes
	}
	out := Envelope{Payload: data, Headers: hdr, NativeHeaders: rt.carriedNativeOut(env.NativeHeaders, hdr)}
	// Only a Message output, or a header mapping, can set the key's or the
	// sendto destination's header (not inherited).
	if h.out.message || rt.hdrMaps != nil {
		if value, err = prepareOutputOf(ctx, rt, h.out, &out, r, value); err != nil {
			return err
		}
		if sent, err := rt.sendRouted(ctx, &out, value); sent {
			return err
		}
	}
	return rt.send(ctx, out, value)
}

// carriedNativeOut returns the NativeHeaders an output with headers hdr
// carries from its input's native (carriedNative), when the output binding
// is of the input's binder type (nativeFor), else nil: native values are
// in the input binder's own types, which a producer of another kind would
// send as text, warning of each message.
func (rt *runtimeBinding) carriedNativeOut(native map[string]any, hdr Headers) map[string]any {
	if native == nil {
		return nil
	}
	return nativeFor(carriedNative(native, hdr), rt, rt.out)
}

// prepareOutputOf prepares out, the encoding of r by c (a Message output,
// or any output when header mappings apply): prepareOutput with r's key
// when r is a Message. It returns value, or one giving r when it was nil
// and out is to go where its sendto header names (set by a mapping), for
// the partitioning there.
func prepareOutputOf[Out any](ctx context.Context, rt *runtimeBinding, c codec[Out], out *Envelope, r Out, value func() any) (func() any, error) {
	var k []byte
	if c.message {
		k = c.key(r)
	}
	if err := rt.prepareOutput(ctx, out, k); err != nil {
		return nil, err
	}
	if value == nil && out.Headers[HeaderSendToDestination] != "" {
		value = func() any { return r }
	}
	return value, nil
}

// consumerHandler is the typed fast path of a registered consumer.
type consumerHandler[In any] struct {
	rt *runtimeBinding
	fn func(context.Context, In) error
	in codec[In]
}

// readsNoHeaders: a payload input is decoded from the payload and the
// contentType header alone (Envelope.ContentType reads it lazily).
func (h *consumerHandler[In]) readsNoHeaders() bool { return !h.in.message }

func (h *consumerHandler[In]) handle(ctx context.Context, env Envelope) error {
	v, err := h.in.decode(&h.rt.inCx, env, h.in.contentType(env, h.rt.inCx.contentType))
	if err != nil {
		return err
	}
	if err := h.fn(ctx, v); err != nil && !errors.Is(err, Skip) {
		return err
	}
	return nil
}

// composedHandler runs a composition "a|b|c" with erased values.
type composedHandler struct{ rt *runtimeBinding }

func (h composedHandler) handle(ctx context.Context, env Envelope) error {
	parts := h.rt.fn.parts
	v, err := parts[0].in.decode(&h.rt.inCx, env, env.ContentType(h.rt.inCx.contentType))
	if err != nil {
		return err
	}
	return h.rt.callChain(ctx, 0, v, env.Headers, env.NativeHeaders, env.Received)
}

// callChain calls the function's parts in order from part from, starting
// with v (the input of that part, or the output of the one before it), and
// sends the result if the chain has an output. in are the input message's
// headers (nil for a supplier's or a batch's): the output carries them
// (inheritHeaders) unless a part returned a Message, whose headers the
// parts after it carry on. native are the input's NativeHeaders: the
// output carries those of the headers it keeps to a producer of the
// input's binder type, as a single function's does (carriedNativeOut).
// rcv is how the input was received (zero for a supplier's or a
// batch's): a part that takes a Message gets it as the headers, until a
// part returns a Message.
func (rt *runtimeBinding) callChain(ctx context.Context, from int, v any, in Headers, native map[string]any, rcv Received) error {
	parts := rt.fn.parts
	var set Headers     // the headers of the last Message a part returned
	var setRcv Received // and its Received
	explicit := false
	for i := from; i < len(parts); i++ {
		p := parts[i]
		if i > 0 {
			// A part that takes a Message of a part's plain output gets
			// the headers that output would carry (docs/conventions.md:
			// in a composition the headers pass from part to part as
			// from input to output).
			carried := func() (Headers, Received) {
				if explicit {
					return set, setRcv
				}
				return inheritHeaders(in), rcv
			}
			var err error
			if v, err = rt.adapt(parts[i-1], p, v, carried); err != nil {
				return err
			}
		}
		r, err := p.call(ctx, v)
		if err != nil {
			if errors.Is(err, Skip) {
				return nil
			}
			return err
		}
		if p.kind == KindConsumer {
			return nil
		}
		if p.out.isNil(r) {
			return nil
		}
		if hc, ok := r.(headerCarrier); ok {
			set, setRcv, explicit = hc.messageHeaders(), hc.messageReceived(), true
		}
		v = r
	}
	last := parts[len(parts)-1]
	data, hdr, err := last.out.encode(&rt.outCx, v)
	if err != nil {
		return err
	}
	if _, ok := v.(headerCarrier); !ok {
		if explicit {
			hdr = set
		} else {
			hdr = inheritHeaders(in)
		}
	}
	hdr = withoutInputID(hdr, in)
	if in == nil {
		// A batch's output: no input's id (one copied from a message of
		// the batch, Headers: ms[0].Headers).
		if batch, ok := ctx.Value(batchKey{}).([]Envelope); ok {
			for _, e := range batch {
				hdr = withoutInputID(hdr, e.Headers)
			}
		}
	}
	out, value := Envelope{Payload: data, Headers: hdr, NativeHeaders: rt.carriedNativeOut(native, hdr)}, func() any { return v }
	if err := rt.prepareOutput(ctx, &out, keyOf(v)); err != nil {
		return err
	}
	if explicit || rt.hdrMaps != nil { // a part returned a Message, or a mapping: it may carry the header
		if sent, err := rt.sendRouted(ctx, &out, value); sent {
			return err
		}
	}
	return rt.send(ctx, out, value)
}

// adapt passes the output of prev to next: as is when the types match,
// otherwise through prev's encoding and next's decoding as JSON (so that a
// function of []byte can feed one of a struct, and back), or by the
// contentType header of a Message that prev returned. When next takes
// a Message and v is not one, the Message gets the headers and Received of
// carried; a Message v passes on its own. Two structs sharing no JSON
// field, and a struct into a number, bool or string type, are refused at
// start-up (checkCompositions).
func (rt *runtimeBinding) adapt(prev, next *entry, v any, carried func() (Headers, Received)) (any, error) {
	if next.in.typ == nil || reflect.TypeOf(v) == next.in.typ {
		return v, nil
	}
	// The app's converters: a composition that starts with a supplier has
	// no input binding, and so no inCx of its own.
	convs := rt.inCx.converters
	if convs == nil {
		convs = rt.outCx.converters
	}
	cx := convCtx{binding: rt.fn.name, converters: convs, contentType: DefaultContentType}
	data, hdr, err := prev.out.encode(&cx, v)
	if err == nil {
		// A Message's contentType header chose its encoding: decode by it.
		ct := DefaultContentType
		var rcv Received
		if hc, ok := v.(headerCarrier); ok {
			ct = Envelope{Headers: hdr}.ContentType(DefaultContentType)
			rcv = hc.messageReceived()
		} else if next.in.message {
			hdr, rcv = carried()
		}
		var r any
		if r, err = next.in.decode(&cx, Envelope{Payload: data, Headers: hdr, Key: keyOf(v), Received: rcv}, ct); err == nil {
			return r, nil
		}
	}
	// The input message was fine: say that the parts do not fit, not only
	// that something "cannot decode application/json".
	return nil, prefixErr(err, "composition %s: the output of %s (%s) does not convert to the input of %s (%s)",
		rt.fn.name, prev.name, reflect.TypeOf(v), next.name, next.in.typ)
}

// prefixErr prefixes err's text with what format says, inside an outermost
// Permanent marker (which a dead letter's x-exception-message leaves out).
func prefixErr(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if pe, ok := err.(*PermanentError); ok {
		return Permanent(fmt.Errorf("%s: %w", what, pe.Err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// handleBatch decodes a batch (envs, messages off.. of a batch of total)
// into the slice the function takes and calls it. A message that cannot be
// decoded fails alone, for good: the function is called with the messages
// before it, and the result is BatchFailedAt it (runBatch goes on with the
// messages after it).
func (rt *runtimeBinding) handleBatch(ctx context.Context, envs []Envelope, off, total int) error {
	e := rt.fn.parts[0]
	slice := reflect.MakeSlice(e.in.typ, len(envs), len(envs))
	for i, env := range envs {
		v, err := e.inElem.decode(&rt.inCx, env, env.ContentType(rt.inCx.contentType))
		if err != nil {
			// Say which message could not be decoded; it will not be
			// next time either.
			if !IsPermanent(err) {
				err = Permanent(err)
			}
			failed := BatchFailedAt(i, prefixErr(err, "batch message %d of %d", off+i+1, total))
			if i == 0 {
				return failed
			}
			if herr := rt.callChain(ctx, 0, slice.Slice(0, i).Interface(), nil, nil, Received{}); herr != nil {
				return rt.batchIndexIn(herr, i)
			}
			return failed
		}
		slice.Index(i).Set(reflect.ValueOf(v))
	}
	return rt.batchIndexIn(rt.callChain(ctx, 0, slice.Interface(), nil, nil, Received{}), len(envs))
}

// polledSupplier calls a supplier on its binding's poller schedule.
type polledSupplier[Out any] struct {
	rt  *runtimeBinding
	fn  func(context.Context) (Out, error)
	out codec[Out]
}

func (s *polledSupplier[Out]) run(ctx, send context.Context) {
	newPoller(s.rt.out.cfg.Producer.Poller, s.rt.log).run(ctx, s.rt.out, func() bool {
		// A panic (the supplier's, or its value's MarshalJSON) is a
		// failed poll, as a handler's panic is a failed attempt: the
		// process does not die.
		var more bool
		if err := safeCall(func() (err error) { more, err = s.poll(ctx, send); return err }); err != nil {
			s.rt.out.stats.errors.Add(1)
			s.rt.logSupplierPanic(err)
			s.rt.log.Error("supplier failed", "error", boundedErr(err))
			return false
		}
		return more
	})
}

// poll calls the supplier once and sends its value; more reports whether
// there was one (nothing ends the poll, as a null does in SCSt).
func (s *polledSupplier[Out]) poll(ctx, send context.Context) (more bool, err error) {
	v, err := s.fn(ctx)
	switch {
	case errors.Is(err, Skip):
		return false, nil
	case err != nil:
		return false, err
	case s.out.isNil(v):
		return false, nil
	}
	var failed error // a send that failed for good (not retried) ends the poll
	sent := false
	_ = emitRetrying(send, func(c context.Context, v Out) error {
		err := emitValue(c, s.rt, s.out, v, ctx)
		if IsPermanent(err) {
			failed = err
		}
		sent = err == nil
		return err
	}, v)
	if !sent && failed == nil {
		// The retries ended with the app's shutdown deadline: the value is
		// lost (logged at WARN only while it was being retried).
		s.rt.log.Error("supplier output dropped: the app stopped before the broker took it")
	}
	return failed == nil, nil
}

// stoppedForGood makes err permanent when it says the output binding is
// stopped (or paused) and shutdown has begun (ctx, the supplier's, ended):
// the binding is not started again, so retrying the send until the shutdown
// deadline only delays the shutdown.
func stoppedForGood(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ErrBindingStopped) {
		return Permanent(err)
	}
	return err
}

// sourceSupplier runs an event-driven supplier.
type sourceSupplier[Out any] struct {
	rt  *runtimeBinding
	src Source[Out]
	out codec[Out]
}

// run runs the source with ctx; its emit sends with the context the
// source gives it, so the source decides what a send cut by shutdown means
// (it learns of it from emit's error).
func (s *sourceSupplier[Out]) run(ctx, _ context.Context) {
	// A panic on the source's goroutine ends the source, as an error
	// does, rather than the process.
	err := safeCall(func() error { return s.src(ctx, s.emit) })
	var pe *PanicError
	if err != nil && (ctx.Err() == nil || errors.As(err, &pe)) {
		s.rt.logSupplierPanic(err)
		s.rt.log.Error("source ended with an error", "error", boundedErr(err))
	}
}

func (s *sourceSupplier[Out]) emit(ctx context.Context, v Out) error {
	if s.out.isNil(v) {
		return nil
	}
	// Once the app shuts down, a stopped (or paused) output binding is not
	// started again: emit fails rather than wait for ever (an emit from a
	// goroutine of the source's, with a ctx of its own, after Run).
	if !s.rt.out.waitStarted(ctx, s.rt.stopping) {
		if ctx.Err() == nil {
			return fmt.Errorf("binding %s: %w: the app is shutting down", s.rt.out.name, ErrBindingStopped)
		}
		return fmt.Errorf("binding %s: %w", s.rt.out.name, context.Cause(ctx))
	}
	return emitValue(ctx, s.rt, s.out, v, nil)
}

// emitValue encodes and sends a supplier's value, logging and counting
// failures (the caller sees the error too): at ERROR, but at WARN when
// the caller sends the value again after an error that is not permanent
// (a polled supplier's value: nothing is lost yet). retry, non-nil, is
// such a caller's supplier context: an error saying the binding stopped
// once it ended is permanent (stoppedForGood), made so before it is
// logged, as the value is not sent again (it was a WARN "retrying", and
// the value lost to the shutdown had no ERROR).
// A panic of the user's code on the way (the value's MarshalJSON, a
// partition key extractor) is that emit's permanent error: a source may
// call emit from a goroutine of its own, outside any recovery, where the
// panic ended the process.
func emitValue[Out any](ctx context.Context, rt *runtimeBinding, c codec[Out], v Out, retry context.Context) error {
	err := safeCall(func() error {
		data, hdr, err := c.encode(&rt.outCx, v)
		if err != nil {
			return err
		}
		var value func() any
		if rt.out.part != nil || hdr[HeaderSendToDestination] != "" {
			value = func() any { return v }
		}
		out := Envelope{Payload: data, Headers: hdr}
		if c.message || rt.hdrMaps != nil { // only a Message, or a mapping, has a key
			if value, err = prepareOutputOf(ctx, rt, c, &out, v, value); err != nil {
				return err
			}
		}
		if sent, err := rt.sendRouted(ctx, &out, value); sent {
			return err
		}
		return rt.out.send(ctx, out, value)
	})
	if err != nil {
		// Only here: pe escapes (errors.As), an allocation a message.
		var pe *PanicError
		if errors.As(err, &pe) {
			err = Permanent(err)
		}
		if retry != nil {
			err = stoppedForGood(retry, err)
		}
		if retry != nil && !IsPermanent(err) {
			rt.log.Warn("supplier output not sent, retrying", "error", boundedErr(err))
		} else {
			rt.log.Error("supplier output not sent", "error", boundedErr(err))
		}
	}
	return err
}

// sendRouted sends out where its HeaderSendToDestination header names
// (Bridge.sendTo, waiting for the confirm, pipelined or not) and reports
// that it did; a blank header is taken off out, which the caller sends as
// usual. Callers call it only for outputs that can carry the header (a
// Message's, or one a header mapping set): an output does not inherit it.
func (rt *runtimeBinding) sendRouted(ctx context.Context, out *Envelope, value func() any) (bool, error) {
	to, ok := out.Headers[HeaderSendToDestination]
	if !ok || rt.bridge == nil {
		return false, nil
	}
	if to = strings.TrimSpace(to); to != "" {
		return true, rt.bridge.sendTo(ctx, to, *out, value, rt)
	}
	out.Headers = withoutHeader(out.Headers, HeaderSendToDestination)
	return false, nil
}

// withoutHeader returns a copy of h without header k.
func withoutHeader(h Headers, k string) Headers {
	out := make(Headers, len(h))
	for n, v := range h {
		if n != k {
			out[n] = v
		}
	}
	return out
}
