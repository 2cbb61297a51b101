package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ErrBindingStopped is returned when sending through a stopped (or paused)
// output binding with [Bridge.Send]; a function's output waits instead.
var ErrBindingStopped = errors.New("stream: binding is stopped")

// Binding is a bound input or output: the unit that is started, stopped,
// paused and resumed, and that counts what passes through it. Its methods
// are safe for concurrent use.
type Binding struct {
	name        string
	input       bool
	binderName  string
	binderType  string
	destination string // as configured; inputs may list several
	group       string
	cfg         BindingConfig
	log         *slog.Logger

	ops       chan struct{} // 1 slot: serialises state changes (see lockOps)
	mu        sync.Mutex    // guards changed and consumers, held briefly
	state     atomic.Value  // State
	changed   chan struct{} // closed and replaced on every state change
	consumers []Consumer
	producer  Producer
	part      *partitioner
	tracing   *tracing
	spanAttrs []attribute.KeyValue
	// dynamic marks the send bridge's producer of a dynamic destination.
	dynamic bool
	// panicLog paces the ERROR line that gives a handler panic's stack
	// (runtimeBinding.logPanic) of an input binding, or a supplier's or
	// source's (logSupplierPanic) of an output binding.
	panicLog warnGate
	// stopping, when set, is closed when the binding's app begins its
	// shutdown: Start and Resume refuse from then on (ErrStopping).
	stopping <-chan struct{}
	// shutBack is set when an input message was given back unhandled
	// once the app began to shut down: the binding hands no later message
	// to its function (runtimeBinding.givenBack).
	shutBack atomic.Bool
	// halt is closed when a Stop or Pause of the binding begins, before
	// it waits for the handlers in flight, and replaced when the binding
	// starts or resumes: a function's output send that waits for its
	// stopped output (runtimeBinding.awaitOutput) ends on it, so that the
	// Stop or Pause of its input does not wait for that send. Guarded by
	// mu.
	halt chan struct{}
	// heldLogged is the changed channel of the state in which a
	// function's output send last began to wait for this (output)
	// binding: logged once per stop or pause, not per message. Guarded by
	// mu.
	heldLogged chan struct{}

	stats bindingStats
}

func (b *Binding) setTracing(t *tracing) {
	b.tracing = t
	if t != nil {
		b.spanAttrs = spanAttributes(b)
	}
}

func newBinding(name string, input bool, cfg BindingConfig, binderName, binderType string, log *slog.Logger) *Binding {
	b := &Binding{name: name, input: input, cfg: cfg, binderName: binderName, binderType: binderType,
		destination: cfg.Destination, changed: make(chan struct{}), ops: make(chan struct{}, 1), halt: make(chan struct{})}
	close(b.halt) // stopped
	if input {
		b.group = cfg.Group
	}
	b.state.Store(StateStopped)
	attrs := []any{"binding", name, "destination", cfg.Destination, "binder", binderName}
	if b.group != "" {
		attrs = append(attrs, "group", b.group)
	}
	b.log = log.With(attrs...)
	return b
}

// Name is the binding name, e.g. "chargePayment-in-0".
func (b *Binding) Name() string { return b.name }

// IsInput reports whether this is a consumer (input) binding.
func (b *Binding) IsInput() bool { return b.input }

// Dynamic reports whether b is the [Bridge]'s producer of a dynamic
// destination: an output the bridge bound on first use, listed by
// [Bridge.Bindings] rather than [App.Bindings], and closed when the
// bridge's cache evicts it (its counters go with it).
func (b *Binding) Dynamic() bool { return b.dynamic }

// Binder is the name of the binder the binding is on.
func (b *Binding) Binder() string { return b.binderName }

// BinderType is the type of that binder.
func (b *Binding) BinderType() string { return b.binderType }

// Destination is the configured destination (inputs may list several,
// comma-separated).
func (b *Binding) Destination() string { return b.destination }

// Group is the consumer group of an input binding ("" = anonymous).
func (b *Binding) Group() string { return b.group }

// Config is the binding's effective configuration.
func (b *Binding) Config() BindingConfig { return b.cfg }

// State is the binding's current state.
func (b *Binding) State() State { return b.state.Load().(State) }

// Stats returns a snapshot of the binding's counters.
func (b *Binding) Stats() BindingStats { return b.stats.snapshot() }

// setState records s and wakes waitStarted; it takes mu briefly.
func (b *Binding) setState(s State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.Store(s)
	close(b.changed)
	b.changed = make(chan struct{})
}

// lockOps serialises Start, Stop, Pause and Resume. It is a channel rather
// than a mutex so that waiting for it honours ctx: a Stop waiting for
// in-flight handlers must not hold up a shutdown whose own ctx has ended.
func (b *Binding) lockOps(ctx context.Context, op string) error {
	// A free lock first: with ctx ended, select would choose at random and
	// report "another state change is in progress" when none is.
	select {
	case b.ops <- struct{}{}:
		return nil
	default:
	}
	select {
	case b.ops <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("binding %s: %s: another state change is in progress: %w", b.name, op, ctx.Err())
	}
}

func (b *Binding) unlockOps() { <-b.ops }

// consumersSnapshot returns the binding's consumers.
func (b *Binding) consumersSnapshot() []Consumer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Consumer(nil), b.consumers...)
}

// Start starts the binding (a no-op when started; resumes a paused one).
// If a consumer fails to start, those already started are stopped again and
// the binding stays stopped.
func (b *Binding) Start(ctx context.Context) error {
	if err := b.lockOps(ctx, "start"); err != nil {
		return err
	}
	defer b.unlockOps()
	if err := ctx.Err(); err != nil { // the lock was free; nothing to start for
		return fmt.Errorf("binding %s: start: %w", b.name, err)
	}
	if b.isStopping() {
		return fmt.Errorf("binding %s: start: %w", b.name, ErrStopping)
	}
	switch b.State() {
	case StateStarted:
		return nil
	case StatePaused:
		return b.resumeLocked(ctx)
	}
	cs := b.consumersSnapshot()
	b.setHalted(false) // before the first delivery
	for i, c := range cs {
		if err := c.Start(ctx); err != nil {
			for _, started := range cs[:i] {
				_ = started.Stop(ctx)
			}
			b.setHalted(true)
			return fmt.Errorf("binding %s: start: %w", b.name, err)
		}
	}
	b.setState(StateStarted)
	b.log.Info("binding started")
	return nil
}

// Stop stops the binding: an input stops receiving and finishes what is in
// flight (bounded by ctx); an output holds the sends of its supplier and of
// the functions that send to it until it is started again, and refuses
// [Bridge.Send].
// The binding is stopped afterwards even when a consumer reports an error.
// A handler of the binding that stops it waits for itself until ctx ends
// (a handler's ctx does not end on its own): call Stop from another
// goroutine (go b.Stop(context.WithoutCancel(ctx))).
func (b *Binding) Stop(ctx context.Context) error {
	if err := b.lockOps(ctx, "stop"); err != nil {
		return err
	}
	defer b.unlockOps()
	if b.State() == StateStopped {
		return nil
	}
	b.setHalted(true) // before waiting for the handlers in flight
	errs := eachConsumer(b.consumersSnapshot(), func(c Consumer) error { return c.Stop(ctx) })
	b.setState(StateStopped)
	if err := errors.Join(errs...); err != nil {
		// Stopped all the same (no more intake), but not cleanly: handler
		// calls still running when ctx ended, or the broker's error.
		b.log.Warn("binding stopped with an error", "error", err)
		return fmt.Errorf("binding %s: stop: %w", b.name, err)
	}
	b.log.Info("binding stopped")
	return nil
}

// Pause stops intake of a started input binding without leaving its group;
// on an output binding it holds the supplier's and the functions' sends
// like Stop. When a consumer
// reports an error (typically: handlers still running when ctx ended) the
// binding is PAUSED all the same — its intake is stopped — so that Resume
// undoes it. Like Stop, Pause called from a handler of the binding waits
// for that handler until ctx ends: call it from another goroutine.
func (b *Binding) Pause(ctx context.Context) error {
	if err := b.lockOps(ctx, "pause"); err != nil {
		return err
	}
	defer b.unlockOps()
	if b.State() != StateStarted {
		return nil
	}
	b.setHalted(true) // as Stop
	errs := eachConsumer(b.consumersSnapshot(), func(c Consumer) error { return c.Pause(ctx) })
	b.setState(StatePaused)
	if err := errors.Join(errs...); err != nil {
		b.log.Warn("binding paused with an error", "error", err) // as Stop
		return fmt.Errorf("binding %s: pause: %w", b.name, err)
	}
	b.log.Info("binding paused")
	return nil
}

// eachConsumer runs f on every consumer (one per destination) at once and
// returns their errors, in order: Stop and Pause stop intake and then wait
// for the handlers in flight, and one after the other, the consumers of
// the later destinations took messages while the first waited (in a
// shutdown, for as long as shutdown-timeout, and then had no time left).
func eachConsumer(cs []Consumer, f func(Consumer) error) []error {
	errs := make([]error, len(cs))
	if len(cs) == 1 {
		errs[0] = f(cs[0])
	} else {
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() { errs[i] = f(c) })
		}
		wg.Wait()
	}
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// Resume undoes Pause. If a consumer fails to resume, the binding stays
// PAUSED (Resume may be called again; consumers resume idempotently).
func (b *Binding) Resume(ctx context.Context) error {
	if err := b.lockOps(ctx, "resume"); err != nil {
		return err
	}
	defer b.unlockOps()
	if b.State() != StatePaused {
		return nil
	}
	if b.isStopping() {
		return fmt.Errorf("binding %s: resume: %w", b.name, ErrStopping)
	}
	return b.resumeLocked(ctx)
}

// isStopping reports whether the binding's app has begun its shutdown.
// Checked with the state-change lock held: the shutdown's Stop of the
// binding takes it too, so a Start that got the lock after it sees the
// shutdown and does not undo its Stop.
func (b *Binding) isStopping() bool {
	if b.stopping == nil {
		return false
	}
	select {
	case <-b.stopping:
		return true
	default:
		return false
	}
}

func (b *Binding) resumeLocked(ctx context.Context) error {
	cs := b.consumersSnapshot()
	b.setHalted(false)
	for i, c := range cs {
		if err := c.Resume(ctx); err != nil {
			// Nothing is delivered while the binding is PAUSED: those
			// resumed already are paused again (their Pause stops intake
			// even when ctx ends before their handlers do).
			b.setHalted(true)
			for _, resumed := range cs[:i] {
				_ = resumed.Pause(ctx)
			}
			return fmt.Errorf("binding %s: resume: %w", b.name, err)
		}
	}
	b.setState(StateStarted)
	b.log.Info("binding resumed")
	return nil
}

// stateChanged returns a channel closed at the binding's next state
// change.
func (b *Binding) stateChanged() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// setHalted closes halt (h) or replaces a closed one (!h).
func (b *Binding) setHalted(h bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.halt == nil { // a Binding not made by newBinding: stopped
		b.halt = make(chan struct{})
		close(b.halt)
	}
	closed := false
	select {
	case <-b.halt:
		closed = true
	default:
	}
	switch {
	case h && !closed:
		close(b.halt)
	case !h && closed:
		b.halt = make(chan struct{})
	}
}

// halting returns a channel closed once the binding is being stopped or
// paused (at once when it is stopped or paused).
func (b *Binding) halting() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.halt
}

// firstHeld reports whether a function's output send waiting for the
// binding in its current state is the first to (see heldLogged).
func (b *Binding) firstHeld() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.heldLogged == b.changed {
		return false
	}
	b.heldLogged = b.changed
	return true
}

// waitStarted blocks until the binding is started; false if ctx ended or
// stop was closed first (nil: never).
func (b *Binding) waitStarted(ctx context.Context, stop <-chan struct{}) bool {
	return b.waitStartedOr(ctx, stop, nil)
}

// waitStartedOr is waitStarted that also ends, false, when halt is closed.
func (b *Binding) waitStartedOr(ctx context.Context, stop, halt <-chan struct{}) bool {
	for {
		if b.State() == StateStarted {
			return true
		}
		// The channel first, then the state: a change between the two
		// closes the channel, so it is not missed.
		ch := b.stateChanged()
		if b.State() == StateStarted {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-stop:
			return false
		case <-halt:
			return false
		}
	}
}

// send sends one encoded message through an output binding, selecting its
// partition first. value returns the payload before encoding, for the key.
func (b *Binding) send(ctx context.Context, env Envelope, value func() any) (err error) {
	if b.tracing != nil {
		var span trace.Span
		ctx, span = b.tracing.startSend(ctx, b, &env)
		defer func() { endSpan(span, err) }()
	}
	if err = b.prepareSend(&env, value); err != nil {
		return err
	}
	if err := b.producer.Send(ctx, env); err != nil {
		return b.sendFailed(err)
	}
	b.stats.sent.Add(1)
	return nil
}

// sendAsync is send through the producer's SendAsync (pipelined
// processing). What send does before the hand-over (the binding's state,
// partition selection, headers) happens here, in the handler's call: its
// errors are returned, and its panics propagate, as send's would. Once
// the message is handed over (c.started), c.sent gets the result.
func (b *Binding) sendAsync(ctx context.Context, ap AsyncProducer, env Envelope, value func() any, c *pipeCall) error {
	var span trace.Span
	if b.tracing != nil {
		ctx, span = b.tracing.startSend(ctx, b, &env)
		defer func() {
			if r := recover(); r != nil {
				endSpan(span, fmt.Errorf("panic: %v", r))
				panic(r)
			}
		}()
	}
	if err := b.prepareSend(&env, value); err != nil {
		if span != nil {
			endSpan(span, err)
		}
		return err
	}
	c.started = true
	ap.SendAsync(ctx, env, func(err error) {
		if err != nil {
			err = b.sendFailed(err)
		} else {
			b.stats.sent.Add(1)
		}
		b.sendDone(span, c, err)
	})
	return nil
}

func (b *Binding) sendDone(span trace.Span, c *pipeCall, err error) {
	if span != nil {
		endSpan(span, err)
	}
	if err != nil {
		err = &sendError{err, b}
	}
	c.sent(err)
}

// notStarted is the error of a send through the binding in state st (not
// started): [ErrBindingStopped], naming the state ("binding x-out-0 is
// PAUSED: stream: binding is stopped"), so that a paused output is not
// taken for a stopped one.
func (b *Binding) notStarted(st State) error {
	return fmt.Errorf("binding %s is %s: %w", b.name, st, ErrBindingStopped)
}

// asyncProducer returns the binding's producer as an AsyncProducer, or nil.
func (b *Binding) asyncProducer() AsyncProducer {
	b.mu.Lock()
	defer b.mu.Unlock()
	ap, _ := b.producer.(AsyncProducer)
	return ap
}

// prepareSend checks that the binding is started, selects the partition
// and applies the header mode and the content type, in *env (the
// caller's copy: an Envelope is too large to copy back and forth a send).
func (b *Binding) prepareSend(env *Envelope, value func() any) error {
	if st := b.State(); st != StateStarted {
		return b.notStarted(st)
	}
	switch {
	case b.part != nil:
		p, err := b.part.place(*env, value)
		if err != nil {
			b.stats.errors.Add(1)
			return Permanent(fmt.Errorf("binding %s: %w", b.name, err))
		}
		env.Headers = env.Headers.Clone().With(HeaderPartition, strconv.Itoa(p))
	case env.Headers[HeaderPartition] != "":
		// An output that is not partitioned sends to its destination, as
		// SCSt's binders use the header only for a partitioned producer: a
		// scst_partition copied from a partitioned input (a Message's
		// headers passed on) would otherwise send to a partition's stream
		// or subject that no consumer of this destination reads.
		env.Headers = env.Headers.Clone()
		delete(env.Headers, HeaderPartition)
	}
	if _, ok := env.Headers[HeaderReplayGroup]; ok {
		// Only streambind dlq replay's copies name the group that handles
		// them, and it sends them with the binder's producer: one sent
		// through a binding (a replayed copy's headers passed on, by the
		// bridge or a Message output) would be skipped by every other
		// group of its destination.
		env.Headers = env.Headers.Clone()
		delete(env.Headers, HeaderReplayGroup)
	}
	if b.cfg.Producer.HeaderMode == HeaderModeNone && stripsFor(b.producer) {
		env.Headers = stripHeaders(env.Headers)
	}
	// A message without a contentType header gets the binding's from the
	// binder (ProducerSpec.ContentType), which writes it without a copy of
	// the headers per message.
	return nil
}

// sendFailed counts a failed send and wraps its error.
func (b *Binding) sendFailed(err error) error {
	b.stats.errors.Add(1)
	return fmt.Errorf("binding %s: send to %s: %w", b.name, b.destination, err)
}

// partitioner selects partitions for a partitioned producer.
type partitioner struct {
	expr      keySource
	extractor KeyExtractor
	// selector is producer.partition-selector-expression; nil: the key's
	// Java hashCode.
	selector *Expression
	count    int
	// contentType is the binding's, named by a key expression's failure
	// over raw bytes (partitionKeyHint).
	contentType string
	// actual is the destination's partition count when it has more than
	// count (adoptPartitionCount); 0 until then. Atomic: Bridge.Encode may
	// select while the app binds.
	actual atomic.Int64
}

// size is the number of partitions to select among.
func (p *partitioner) size() int {
	return max(p.count, int(p.actual.Load()))
}

// adoptPartitionCount makes a partitioned binding select among all of its
// destination's partitions when the producer reports more than
// partition-count (PartitionCounter). Before the binding starts sending.
func (b *Binding) adoptPartitionCount(p Producer) {
	pc, ok := p.(PartitionCounter)
	if !ok || b.part == nil {
		return
	}
	if n := pc.PartitionCount(); n > b.part.count {
		b.log.Info("the destination has more partitions than the binding's partition-count; the larger number is used to select partitions, as in SCSt",
			"partition-count", b.part.count, "partitions", n)
		b.part.actual.Store(int64(n))
	}
}

// newPartitioner returns the partitioner of a producer configuration, nil
// when it is not partitioned (no key expression or extractor; a
// partition-count alone only sizes the destination, as in SCSt). The
// configuration must have been validated.
func newPartitioner(p ProducerConfig, contentType string, extractors map[string]KeyExtractor) (*partitioner, error) {
	if p.PartitionKeyExpression == "" && p.PartitionKeyExtractorName == "" {
		return nil, nil
	}
	pt := &partitioner{count: max(p.PartitionCount, 1), contentType: contentType}
	if n := p.PartitionKeyExtractorName; n != "" {
		ex, ok := extractors[n]
		if !ok {
			return nil, fmt.Errorf("no key extractor %q registered (stream.WithKeyExtractor)", n)
		}
		pt.extractor = ex
	} else {
		e, err := compileKeyExpression(p.PartitionKeyExpression)
		if err != nil {
			return nil, err
		}
		pt.expr = e
	}
	if s := p.PartitionSelectorExpression; s != "" {
		e, err := compileSelectorExpression(s)
		if err != nil {
			return nil, err
		}
		pt.selector = e
	}
	return pt, nil
}

// place selects the partition of env, an output of a partitioned binding.
// It does not set the message key: as in SCSt, the partition key selects
// the partition only, and the message key is the one the sender gave (a
// Message's Key or kafka_messageKey, an Envelope's Key, Kafka's
// message-key-expression) or none. A key given with an Envelope (to the
// bridge) selects the partition, as a string key of the expression would;
// otherwise the expression or the extractor does, over value() (nil:
// none) and env's headers, also beside a Message's key (keyOnly: SCSt's
// KafkaHeaders.KEY beside a partition-key-expression). That key is
// headers['kafka_messageKey'] to the expression or extractor, as the
// KafkaHeaders.KEY header is to SCSt's (partition-key-expression:
// headers['kafka_messageKey']), though it is not sent on as a header.
func (p *partitioner) place(env Envelope, value func() any) (int, error) {
	if len(env.Key) > 0 && !env.keyOnly {
		return p.forKey(string(env.Key))
	}
	var v any
	if value != nil {
		v = value()
	}
	h := env.Headers
	if _, ok := h[HeaderMessageKey]; env.keyOnly && len(env.Key) > 0 && !ok {
		h = h.Clone().With(HeaderMessageKey, string(env.Key))
	}
	return p.partition(v, h)
}

// partition selects the partition of a message with payload v and headers
// h by the expression or the extractor.
func (p *partitioner) partition(v any, h Headers) (int, error) {
	var (
		key any
		err error
	)
	if m, ok := v.(payloadOf); ok {
		v = m.payloadAny() // headers are h already
	}
	if p.extractor != nil {
		key, err = p.extractor(v, h)
	} else {
		key, err = p.expr.Extract(v, h)
	}
	if err != nil {
		ct := NormalizeContentType(h[HeaderContentType])
		if ct == "" {
			ct = p.contentType
		}
		return 0, fmt.Errorf("partition key: %w", partitionKeyHint(err, v, ct))
	}
	if key == nil {
		return 0, errors.New("partition key: key is nil")
	}
	return p.forKey(key)
}

// forKey selects the partition of a key: partition-selector-expression
// when set, else the key's Java hashCode.
func (p *partitioner) forKey(key any) (int, error) {
	if p.selector == nil {
		return SelectPartition(PartitionHash(key), p.size()), nil
	}
	r, err := p.selector.Eval(map[string]any{"key": normalizeNumber(key)})
	if err != nil {
		return 0, fmt.Errorf("partition selector: %w", err)
	}
	n, ok := r.(int)
	if !ok {
		return 0, fmt.Errorf("partition selector: expression %q yielded %T %v, want an integer", p.selector, r, r)
	}
	// SCSt: Math.abs(partition % partitionCount).
	n %= p.size()
	if n < 0 {
		n = -n
	}
	return n, nil
}

// HandlerBuckets returns the upper bounds, in seconds, of the handler
// duration histogram (Prometheus' default buckets with finer ones below
// 5ms): [Stats].HandlerBuckets[i] counts the messages handled within the
// i-th bound. It returns a copy, so that no caller can change the bounds
// the bindings bucket by.
func HandlerBuckets() [len(handlerBuckets)]float64 { return handlerBuckets }

// handlerBuckets are HandlerBuckets' bounds; never written.
var handlerBuckets = [...]float64{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// handlerBucketBounds[i] is the longest Duration whose Seconds() is at
// most handlerBuckets[i]: a message's duration is bucketed by comparing
// integers, without the float conversion of d.Seconds() (a tenth of the
// core's per-message cost on the in-process binder), into the same
// bucket as before.
var handlerBucketBounds = func() (b [len(handlerBuckets)]time.Duration) {
	for i, ub := range handlerBuckets {
		d := time.Duration(math.Round(ub * 1e9))
		for d.Seconds() > ub {
			d--
		}
		for (d + 1).Seconds() <= ub {
			d++
		}
		b[i] = d
	}
	return b
}()

// bucketOf returns the index in bindingStats' buckets of a handler
// duration d.
func bucketOf(d time.Duration) int {
	for i, ub := range &handlerBucketBounds {
		if d <= ub {
			return i
		}
	}
	return len(handlerBucketBounds)
}

// bindingStats are a binding's counters.
type bindingStats struct {
	retried, failed, deadLettered, dropped, sent, errors atomic.Int64
	// processed counts the messages processed that were not timed as a
	// success in okBuckets (a batch's messages handled by a call that
	// failed for another message of it); Processed adds okBuckets' sum.
	processed    atomic.Int64
	handlerNanos atomic.Int64
	// okBuckets[i] counts the handler calls (with their retries) that
	// succeeded within handlerBuckets[i] seconds and above
	// handlerBuckets[i-1], failBuckets those that failed for good
	// (neither cumulative); the last of each counts those above every
	// bound. HandlerCalls is the sum of both, Processed includes
	// okBuckets' sum: a success costs the one bucket add, no counter of
	// its own. Processed is a sum of counters that only grow, never a
	// difference, so that a snapshot cannot go backwards.
	okBuckets, failBuckets [len(handlerBuckets) + 1]atomic.Int64
	// delayed counts delayed retries per consumer.retry-delays level.
	delayed levelCounts
	// handling counts the messages in handling (inflight.go).
	handling inflight
}

// observeOK counts a handler call (with its retries) that succeeded after
// d: processed, and timed.
func (s *bindingStats) observeOK(d time.Duration) {
	s.handlerNanos.Add(int64(d))
	s.okBuckets[bucketOf(d)].Add(1)
}

// observeFailed times a handler call (with its retries) that did not
// succeed: not processed.
func (s *bindingStats) observeFailed(d time.Duration) {
	s.handlerNanos.Add(int64(d))
	s.failBuckets[bucketOf(d)].Add(1)
}

func (s *bindingStats) snapshot() BindingStats {
	n, oldest := s.handling.snapshot(time.Since(clockBase))
	buckets, calls, ok := s.cumulative()
	return BindingStats{
		InFlight: n, OldestInFlight: oldest,
		Processed: s.processed.Load() + ok, Retried: s.retried.Load(), Failed: s.failed.Load(),
		DeadLettered: s.deadLettered.Load(), Dropped: s.dropped.Load(), Sent: s.sent.Load(),
		Errors: s.errors.Load(), HandlerTime: time.Duration(s.handlerNanos.Load()),
		HandlerCalls: calls, HandlerBuckets: buckets,
		DelayedRetries: s.delayed.snapshot(),
	}
}

// cumulative returns the histogram's cumulative bucket counts, the
// number of messages timed and how many of them succeeded.
func (s *bindingStats) cumulative() (buckets []int64, calls, ok int64) {
	buckets = make([]int64, len(handlerBuckets))
	for i := range s.okBuckets {
		o := s.okBuckets[i].Load()
		ok += o
		calls += o + s.failBuckets[i].Load()
		if i < len(buckets) {
			buckets[i] = calls
		}
	}
	return buckets, calls, ok
}

// BindingStats is a snapshot of a binding's counters.
type BindingStats struct {
	// Processed counts input messages handled successfully.
	Processed int64 `json:"processed"`
	// Retried counts retry attempts (not messages).
	Retried int64 `json:"retried"`
	// Failed counts input messages that failed every attempt; each is also
	// counted as DeadLettered or Dropped.
	Failed       int64 `json:"failed"`
	DeadLettered int64 `json:"deadLettered"`
	Dropped      int64 `json:"dropped"`
	// Sent counts messages sent through an output binding.
	Sent int64 `json:"sent"`
	// Errors counts send failures and supplier errors, and input messages
	// that failed every attempt and were left for redelivery instead of
	// settled (an output that could not be sent; a binder's
	// requeue-rejected, see [RejectRequeuer]).
	Errors int64 `json:"errors"`
	// HandlerTime is the total time spent handling input messages and
	// HandlerCalls the number of messages timed. A message's time runs
	// from its first attempt's start until the handler returned and, for
	// a function, the broker stored its output (the send's confirm
	// included, pipelined or not); retries and their back-off count.
	HandlerTime  time.Duration `json:"handlerTimeNanos"`
	HandlerCalls int64         `json:"handlerCalls"`
	// HandlerBuckets[i] counts the messages handled within
	// HandlerBuckets()[i] seconds (cumulative, as Prometheus wants them).
	HandlerBuckets []int64 `json:"handlerBuckets"`
	// InFlight is how many input messages are in handling now (counted
	// as HandlerTime times them: retries, their back-off and a function's
	// output send included; a batch counts as its messages, less those
	// settled at once: acknowledged before a BatchFailedAt message's
	// retries, or one that failed for good with those before it, before
	// the messages after it are handled), and
	// OldestInFlight how long the oldest of them has been, counted from
	// the start of the second it began in (up to 1s over; 0 when none). A
	// handler that does not return shows as an OldestInFlight that keeps
	// growing. A failed message whose dead letter the binder is sending
	// counts until it is settled or handed back (ConsumerSpec.Holding),
	// from when its dead-lettering began: a dead letter held while the
	// DLQ refuses it shows as well.
	InFlight       int64         `json:"inFlight"`
	OldestInFlight time.Duration `json:"oldestInFlightNanos"`
	// DelayedRetries[i] counts messages parked for consumer.retry-delays[i]
	// (non-blocking retries; each is also counted in Retried); nil when
	// none was.
	DelayedRetries []int64 `json:"delayedRetries,omitempty"`
}

// Lag returns the consumer lag per destination partition, for consumers
// whose binder reports it (see [LagReporter]); nil otherwise.
func (b *Binding) Lag(ctx context.Context) ([]PartitionLag, error) {
	var out []PartitionLag
	for _, c := range b.consumersSnapshot() {
		if lr, ok := c.(LagReporter); ok {
			l, err := lr.Lag(ctx)
			if err != nil {
				return nil, fmt.Errorf("binding %s: lag: %w", b.name, err)
			}
			out = append(out, l...)
		}
	}
	return out, nil
}

// Destinations splits a binding's destination setting as the app does: a
// comma-separated list ("orders, returns" is two destinations), each
// trimmed, empty items dropped.
func Destinations(d string) []string {
	var out []string
	for _, s := range strings.Split(d, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Health reports whether the binding can do its work: an error while it is
// not bound yet (start-up is still binding it) or when its binder tells
// that its destination is unusable (see [BindingHealthChecker]); nil
// otherwise, including when its binder cannot tell.
func (b *Binding) Health(ctx context.Context) error {
	var parts []any
	for _, c := range b.consumersSnapshot() {
		parts = append(parts, c)
	}
	b.mu.Lock()
	if b.producer != nil {
		parts = append(parts, b.producer)
	}
	b.mu.Unlock()
	if len(parts) == 0 {
		return fmt.Errorf("binding %s: not bound", b.name)
	}
	var errs []error
	for _, p := range parts {
		if hc, ok := p.(BindingHealthChecker); ok {
			if err := hc.Health(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("binding %s: %w", b.name, err)
	}
	return nil
}

// DeadLetterStats sums the dead-letter counters of the binding's consumers
// (see [DeadLetterReporter]); zero for binders that do not report them.
func (b *Binding) DeadLetterStats() DeadLetterStats {
	var s DeadLetterStats
	for _, c := range b.consumersSnapshot() {
		if r, ok := c.(DeadLetterReporter); ok {
			x := r.DeadLetterStats()
			s.Truncated += x.Truncated
			s.HeadersOnly += x.HeadersOnly
			s.Dropped += x.Dropped
		}
	}
	return s
}
