package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambind/streambind/binder/internal/batchprefix"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/binder/internal/logtext"
	"github.com/streambind/streambind/stream"
)

// consumer is a consumer binding of one destination.
type consumer struct {
	bd       *Binder
	spec     stream.ConsumerSpec
	log      *slog.Logger
	destName string
	dlq      *destination // nil: failed messages are dropped
	group    *group       // the named group; nil for an anonymous consumer
	// instances and index: the group has instances queues; this consumer
	// takes from queue index.
	instances, index int
	conc             int           // workers
	batch            int           // largest batch; 0 when not in batch mode
	delay            time.Duration // redelivery delay

	life *lifecycle.Lifecycle // Start, Stop, Pause, Resume, close

	// dlDropped counts dead letters that no group of the dead-letter
	// destination stored (none bound, or only ones that do not store it):
	// the in-process broker keeps nothing for nobody, so they were lost
	// ([stream.DeadLetterStats.Dropped]).
	dlDropped atomic.Int64
}

var (
	_ stream.Consumer           = (*consumer)(nil)
	_ stream.DeadLetterReporter = (*consumer)(nil)
)

// DeadLetterStats implements [stream.DeadLetterReporter]: Dropped counts
// the dead letters lost because no group of the dead-letter destination
// stored them (each logged at WARN). The in-process binder truncates
// nothing.
func (c *consumer) DeadLetterStats() stream.DeadLetterStats {
	return stream.DeadLetterStats{Dropped: c.dlDropped.Load()}
}

// newConsumer creates a stopped consumer of destination dest, joining (and
// so provisioning) its named group. Call with bd.mu.
func (bd *Binder) newConsumer(dest string, spec stream.ConsumerSpec) (*consumer, error) {
	c := &consumer{
		bd:        bd,
		spec:      spec,
		log:       spec.Logger,
		destName:  dest,
		instances: 1,
		conc:      max(spec.Consumer.Concurrency, 1),
		delay:     bd.broker.cfg.RedeliveryDelay,
	}
	c.life = lifecycle.New(c.errorf, "previous run still finishing")
	if c.log == nil { // the core's carries the binding's attributes
		c.log = bd.log.With("binding", spec.Binding, "destination", dest, "group", spec.Group)
	}
	// partitioned applies to a named group only: an anonymous consumer's
	// private group has one queue, which gets every partition's messages,
	// as in SCSt (the core logs a WARN at bind).
	if spec.Consumer.Partitioned && spec.Group != "" {
		c.instances, c.index = max(spec.Consumer.InstanceCount, 1), spec.Consumer.InstanceIndex
	}
	if spec.Consumer.BatchMode {
		c.batch = bd.batchSize
	}
	if spec.Consumer.DLQ {
		if spec.Group == "" {
			c.log.Debug("memory: dlq ignored: an anonymous consumer has no dead-letter destination", "destination", dest)
		} else {
			d, err := bd.broker.destination(stream.DLQName(dest, spec.Group))
			if err != nil {
				return nil, err
			}
			c.dlq = d
		}
	}
	if spec.Group != "" {
		g, err := bd.broker.join(dest, spec.Group, c.instances, bd.bufferSize)
		if err != nil {
			return nil, err
		}
		c.group = g
		if c.instances > 1 {
			// The other instances' queues are read only by consumers
			// bound on this broker: in an app whose other instances run
			// elsewhere, nobody, and sends block once they are full.
			c.log.Warn("memory: partitioned consumer reads only its share of the destination; the queues of the other instances fill up unless they are bound in this process, and then every send to it blocks (back-pressure, no further log line): set partitioned: false (or instance-count: 1) for the in-process profile",
				"destination", dest, "instance-count", c.instances, "instance-index", c.index, "buffer-size", bd.bufferSize)
		}
	} else if _, err := bd.broker.destination(dest); err != nil {
		return nil, err
	}
	return c, nil
}

// release undoes newConsumer for a consumer that was never started.
func (c *consumer) release() {
	if c.group != nil {
		c.group.leave()
	}
}

func (c *consumer) errorf(op string, err error) error {
	return fmt.Errorf("memory: %s consumer %s (destination %q): %w", op, c.spec.Binding, c.destName, err)
}

// Start begins delivery. A consumer whose previous Stop ran out of time
// first waits (bounded by ctx) for that run's handlers to return.
func (c *consumer) Start(ctx context.Context) error { return c.life.Start(ctx, c.startRun) }

func (c *consumer) startRun(context.Context) (lifecycle.Run, error) {
	b := c.bd.broker
	g := c.group
	if g == nil {
		var err error
		if g, err = b.newAnonymous(c.destName, c.bd.bufferSize); err != nil {
			return nil, err
		}
	}
	r := &run{
		c:        c,
		g:        g,
		wake:     make(chan struct{}, 1),
		idle:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	if c.conc > 1 {
		r.owner = make([]int32, c.conc)
	}
	r.ctx, r.cancel = context.WithCancel(b.ctx)
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		r.cancel()
		return nil, errClosed("start")
	}
	r.q = g.queues[c.index]
	r.q.attach(r)
	g.mu.Unlock()
	r.wg.Add(c.conc)
	for w := range c.conc {
		go r.worker(w)
	}
	go r.finish()
	notify(r.wake) // messages may be waiting
	return r, nil
}

// Stop stops intake and waits for in-flight handler calls, bounded by ctx;
// when ctx ends first, it cancels the handlers' context (their messages are
// redelivered) and returns an error.
func (c *consumer) Stop(ctx context.Context) error { return c.life.Stop(ctx) }

// Pause stops intake, keeping the group's queue, and waits (bounded by
// ctx) for in-flight handler calls to finish. It does nothing when the
// consumer is stopped.
func (c *consumer) Pause(ctx context.Context) error { return c.life.Pause(ctx) }

// Resume restarts intake after Pause. It does nothing when the consumer is
// stopped.
func (c *consumer) Resume(ctx context.Context) error { return c.life.Resume(ctx) }

// close stops the consumer for good (its binder is closing) and leaves its
// group.
func (c *consumer) close(ctx context.Context) error {
	return c.life.CloseThen(ctx, c.release)
}

// run is one started period of a consumer: its workers and their state.
type run struct {
	c *consumer
	g *group
	q *queue
	// ctx is the handlers' context; cancelled when a Stop runs out of time,
	// when the run ends, and when the broker closes.
	ctx    context.Context
	cancel context.CancelFunc
	// wake holds a wake-up token for an idle worker.
	wake chan struct{}
	// idle gets a token when busy drops to 0 while paused.
	idle chan struct{}
	// stopping is closed by stop; done when the workers have returned and
	// the run is detached.
	stopping chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup

	// Guarded by g.mu:
	stopped, paused bool
	busy            int     // workers between taking messages and finishing them
	owner           []int32 // ordering slot → owning worker+1 (0: free); nil when concurrency is 1
}

func (r *run) stop() {
	r.g.mu.Lock()
	r.stopped = true
	r.g.mu.Unlock()
	close(r.stopping)
}

// Stop implements [lifecycle.Run]: it stops intake and waits for the
// handler calls in flight, bounded by ctx; when ctx ends first it cancels
// the handlers' context.
func (r *run) Stop(ctx context.Context) error {
	r.stop()
	if err := lifecycle.Wait(ctx, r.done); err != nil {
		r.cancel()
		// Not "to be redelivered": a handler that returns on its context's
		// end gives its message back to the group's queue, which lives in
		// this process only; one still running when the process ends loses
		// it. (The broker's close warns of what its queues discard.)
		return fmt.Errorf("in-flight messages interrupted: their handlers were still running; a message given back is redelivered only within this process (the in-process binder keeps nothing once it ends): %w", err)
	}
	return nil
}

// Done implements [lifecycle.Run].
func (r *run) Done() <-chan struct{} { return r.done }

// Pause implements [lifecycle.Run].
func (r *run) Pause(ctx context.Context) error {
	g := r.g
	g.mu.Lock()
	r.paused = true
	busy := r.busy
	g.mu.Unlock()
	for busy > 0 {
		select {
		case <-r.idle:
		case <-ctx.Done():
			return fmt.Errorf("paused, but handlers still running: %w", ctx.Err())
		}
		g.mu.Lock()
		busy = r.busy
		g.mu.Unlock()
	}
	return nil
}

// Resume implements [lifecycle.Run].
func (r *run) Resume() {
	r.g.mu.Lock()
	r.paused = false
	r.g.mu.Unlock()
	notify(r.wake)
}

// finish waits for the workers, detaches the run from its queue, drops an
// anonymous consumer's group, and marks the run done.
func (r *run) finish() {
	r.wg.Wait()
	r.g.mu.Lock()
	r.q.detach(r)
	r.g.mu.Unlock()
	if r.g.name == "" {
		if n := r.c.bd.broker.remove(r.g); n > 0 {
			warnDiscarded(r.c.log, "memory: anonymous consumer ended with messages not yet consumed; they are discarded with its queue", r.g.dest.name, "", n)
		}
	}
	r.cancel()
	close(r.done)
}

// worker takes messages (or batches) from the queue and handles them until
// the run stops.
func (r *run) worker(w int) {
	defer r.wg.Done()
	c, g, q := r.c, r.g, r.q
	limit := 1
	var envs []stream.Envelope
	if c.batch > 0 {
		limit = c.batch
		envs = make([]stream.Envelope, 0, limit)
	}
	buf := make([]item, 0, limit)
	// handled: buf holds the messages the handler had last, which the next
	// turn completes under the lock it takes them with (one lock a
	// message, not two); requeue is its verdict's (see completeLocked).
	handled := false
	var requeue []item
	for {
		g.mu.Lock()
		n := 0 // handled messages in buf
		if handled {
			n = len(buf)
			r.completeLocked(w, buf, requeue)
			handled, requeue = false, nil
		}
		if r.stopped {
			g.mu.Unlock()
			r.completed(n)
			return
		}
		buf = buf[:0]
		if !r.paused {
			buf = r.takeLocked(w, buf, limit)
		}
		if len(buf) == 0 {
			g.mu.Unlock()
			clear(buf[:n]) // do not retain payloads
			r.completed(n)
			select {
			case <-r.wake:
			case <-r.stopping:
			}
			continue
		}
		r.busy++
		more := q.items.len() > 0
		g.mu.Unlock()
		if len(buf) < n {
			clear(buf[len(buf):n]) // do not retain payloads
		}
		r.completed(n)
		notify(q.notFull)
		if more {
			notify(r.wake) // another worker may take the next one
		}
		requeue = r.process(buf, envs)
		handled = true
	}
}

// takeLocked moves up to limit messages that worker w may handle from the
// queue to buf: with one worker, the oldest; with several, the oldest whose
// ordering slot no other worker owns, looking at most lookahead messages
// deep. Worker w then owns the slots of the messages it took. Call with g.mu.
func (r *run) takeLocked(w int, buf []item, limit int) []item {
	items := &r.q.items
	if r.owner == nil {
		for len(buf) < limit && items.len() > 0 {
			buf = append(buf, items.removeAt(0))
		}
		return buf
	}
	me := int32(w + 1)
	n := min(items.len(), lookahead)
	for i := 0; i < n && len(buf) < limit; {
		if it := items.at(i); it.hasRoute {
			s := it.route % uint32(len(r.owner))
			if o := r.owner[s]; o != 0 && o != me {
				i++
				continue
			}
			r.owner[s] = me
		}
		buf = append(buf, items.removeAt(i))
		n--
	}
	return buf
}

// process hands items to the handler and carries out its verdict; it
// returns the items to put back at the front of the queue (see
// completeLocked).
func (r *run) process(items []item, envs []stream.Envelope) []item {
	if r.c.batch > 0 {
		return r.processBatch(items, envs)
	}
	// Apart from the batch path, whose closures would move this call's
	// variables to the heap: two allocations a message.
	return r.settle(items, call(r.ctx, r.c.spec.Handler, r.c.envelope(&items[0])))
}

// processBatch is process in batch mode.
func (r *run) processBatch(items []item, envs []stream.Envelope) (requeue []item) {
	c := r.c
	envs = envs[:0]
	for i := range items {
		envs = append(envs, c.envelope(&items[i]))
	}
	// A message taken from the queue needs no ack: of the messages
	// the core settles early (stream.BatchSettler) the handled ones
	// are only left out of what the outcome settles (not put back on
	// a Nak or an interrupted Stop, not dead-lettered), and the ones
	// that failed for good are dead-lettered (or dropped) at once, as
	// term does at the end; one whose dead letter could not be sent
	// is put back, ahead of what the outcome puts back.
	var early []item
	ctx, prefix := batchprefix.New(r.ctx, len(items), func(from, to int, outcome error) error {
		if outcome == nil {
			return nil
		}
		left := r.term(items[from:to], outcome)
		early = append(early, left...)
		if len(left) > 0 {
			return errors.New("memory: a dead letter could not be sent; the message is put back")
		}
		return nil
	})
	k, err := prefix.Rest(callBatch(ctx, c.spec.BatchHandler, envs))
	clear(envs)
	items = items[k:]
	if len(early) > 0 {
		defer func() {
			if len(requeue) == 0 {
				r.holdBack()
			}
			requeue = append(early, requeue...)
		}()
	}
	return r.settle(items, err)
}

// settle carries out the handler's verdict err on items and returns the
// items to put back (see process).
func (r *run) settle(items []item, err error) (requeue []item) {
	c := r.c
	switch {
	case err == nil: // Ack
	case c.batch > 0 && r.ctx.Err() == nil && batchOutcome(err) != nil:
		// Each message by its own outcome: the handled ones acknowledged,
		// the failed ones dead-lettered or dropped, those from NakFrom on
		// put back.
		j := batchOutcome(err).NakFrom()
		requeue = items[j:]
		if left := r.term(items[:j], err); len(left) > 0 {
			requeue = items[j-len(left):]
		}
		if len(requeue) > 0 {
			r.holdBack()
		}
	case errors.Is(err, stream.ErrNak) || r.ctx.Err() != nil:
		// Nak, or interrupted by a Stop that ran out of time.
		r.holdBack()
		requeue = items
	case c.batch == 0 && stream.AsDelayedRetry(err) != nil:
		r.retryLater(items[0], stream.AsDelayedRetry(err)) // then Ack
	default: // Term
		if requeue = r.term(items, err); len(requeue) > 0 {
			r.holdBack()
		}
	}
	return requeue
}

// batchOutcome returns the stream.BatchOutcome in err's chain, or nil.
func batchOutcome(err error) *stream.BatchOutcome {
	var bo *stream.BatchOutcome
	if errors.As(err, &bo) {
		return bo
	}
	return nil
}

// envelope returns the message of it as the handler gets it: as sent,
// with the id and contentType headers Send gave it (stamp), and how it
// was received (doc.go: a Received the sender gave keeps its fields). A
// handler bound with LazyHeaders reads the stamped headers through the
// envelope's lazy headers (it, the worker's, stays put until the message
// is settled); every other gets them in Headers.
func (c *consumer) envelope(it *item) stream.Envelope {
	s := &it.env
	if s.given != nil {
		return c.givenEnvelope(it)
	}
	rc := stream.Received{Destination: c.destName, Offset: int64(it.seq), HasOffset: true, Timestamp: time.UnixMilli(it.ts)}
	if it.part >= 0 && c.spec.Consumer.Partitioned {
		rc.Partition, rc.HasPartition = int(it.part), true
	}
	env := stream.Envelope{Payload: s.Payload, Headers: s.Headers, Key: s.Key, NativeHeaders: s.NativeHeaders, Received: rc}
	switch {
	case s.stamp == (stamp{}):
	case c.spec.LazyHeaders && c.batch == 0:
		env.SetLazyHeaders(&s.stamp)
	default:
		env.Headers = s.headers()
	}
	return env
}

// givenEnvelope is envelope of a message sent with a Received (doc.go).
func (c *consumer) givenEnvelope(it *item) stream.Envelope {
	env := it.env.envelope()
	r := &env.Received
	r.Destination = c.destName
	if !r.HasOffset {
		r.Offset, r.HasOffset = int64(it.seq), true
	}
	if r.Timestamp.IsZero() {
		r.Timestamp = time.UnixMilli(it.ts)
	}
	if !r.HasPartition && it.part >= 0 && c.spec.Consumer.Partitioned {
		r.Partition, r.HasPartition = int(it.part), true
	}
	return env
}

// completeLocked puts requeue back at the front of the queue and frees
// worker w's ordering slots of items, the messages it handled. Call with
// g.mu, then completed.
func (r *run) completeLocked(w int, items, requeue []item) {
	g, q := r.g, r.q
	if len(requeue) > 0 && !g.closed {
		for i := len(requeue) - 1; i >= 0; i-- {
			q.items.pushFront(requeue[i])
		}
		q.wakeRuns()
	}
	if r.owner != nil {
		me := int32(w + 1)
		for i := range items {
			if it := &items[i]; it.hasRoute {
				if s := it.route % uint32(len(r.owner)); r.owner[s] == me {
					r.owner[s] = 0
				}
			}
		}
	}
	r.busy--
	if r.busy == 0 && r.paused {
		notify(r.idle)
	}
}

// completed wakes, after completeLocked of n > 0 messages and without
// g.mu, another worker, which may wait for the ordering slots those
// messages freed (a run of one worker has no other to wake).
func (r *run) completed(n int) {
	if n > 0 && r.c.conc > 1 {
		notify(r.wake)
	}
}

// holdBack waits the redelivery delay, or less if the run stops.
func (r *run) holdBack() {
	t := time.NewTimer(r.c.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.stopping:
	case <-r.ctx.Done():
	}
}

// term carries out a Term verdict: dead-letter the items, or drop them
// without a DLQ. It returns the items that could not be dead-lettered,
// which are to be redelivered.
func (r *run) term(items []item, herr error) []item {
	c := r.c
	if c.dlq == nil {
		c.log.Debug("memory: message dropped after handler failure (no dlq)",
			"messages", len(items), "error", logtext.Error(herr))
		return nil
	}
	for i := range items {
		cause := stream.BatchMessageErr(herr, i) // a batch's message's own
		if cause == nil {
			continue // handled: acknowledged
		}
		if err := r.deadLetter(&items[i], cause); err != nil {
			c.log.Warn("memory: dead-lettering failed; the message will be redelivered",
				"dlq", c.dlq.name, "error", err)
			return items[i:]
		}
	}
	return nil
}

// deadLetter sends it to the DLQ with the dead-letter headers.
func (r *run) deadLetter(it *item, herr error) error {
	c := r.c
	h := stream.DeadLetterHeaders(it.env.headers(), herr)
	h[stream.HeaderOriginalTopic] = c.destName
	part := "0"
	if it.part >= 0 {
		part = strconv.Itoa(int(it.part))
	}
	h[stream.HeaderOriginalPartition] = part
	h[stream.HeaderOriginalTimestamp] = strconv.FormatInt(it.ts, 10)
	stored, err := c.dlq.sendStored(r.ctx, stream.Envelope{Payload: it.env.Payload, Headers: h, Key: it.env.Key}, stamp{})
	if err == nil && !stored {
		// Counted from the store itself: a group bound while the dead
		// letter was on its way got it, and it is not counted lost.
		c.log.Warn("memory: dead letter dropped: no consumer group of the dlq destination stored it", "dlq", c.dlq.name)
		c.dlDropped.Add(1) // after the line: a reader of the count finds it logged
	}
	return err
}

// call runs a handler, turning a panic into an error.
func call(ctx context.Context, h stream.Handler, env stream.Envelope) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("memory: handler panicked: %v", p)
		}
	}()
	return h(ctx, env)
}

// callBatch runs a batch handler, turning a panic into an error.
func callBatch(ctx context.Context, h stream.BatchHandler, envs []stream.Envelope) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("memory: batch handler panicked: %v", p)
		}
	}()
	return h(ctx, envs)
}

// consumers is a consumer binding of several destinations: one consumer
// per destination, operated together.
type consumers []*consumer

// Start starts every destination's consumer, or none: when one fails,
// those it started are stopped again, so that the binding is stopped as
// the error says (stream.Consumer). Kept started, they delivered while
// the core reported the binding STOPPED, and its Stop was a no-op.
func (cs consumers) Start(ctx context.Context) error {
	for i, c := range cs {
		if err := c.Start(ctx); err != nil {
			for _, started := range cs[:i] {
				_ = started.Stop(ctx)
			}
			return err
		}
	}
	return nil
}

// Stop stops every destination's consumer.
func (cs consumers) Stop(ctx context.Context) error {
	return cs.each(func(c *consumer) error { return c.Stop(ctx) })
}

// Pause pauses every destination's consumer.
func (cs consumers) Pause(ctx context.Context) error {
	return cs.each(func(c *consumer) error { return c.Pause(ctx) })
}

// Resume resumes every destination's consumer.
func (cs consumers) Resume(ctx context.Context) error {
	return cs.each(func(c *consumer) error { return c.Resume(ctx) })
}

// each runs f on every destination's consumer at once: Stop and Pause
// stop intake and then wait for the handlers in flight, and one after the
// other, the later destinations went on taking messages while the first
// waited.
func (cs consumers) each(f func(*consumer) error) error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { errs[i] = f(c) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
