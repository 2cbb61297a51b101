package rabbit

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/internal/batchprefix"
	"github.com/streambind/streambind/binder/internal/dlcount"
	"github.com/streambind/streambind/binder/internal/dlhold"
	"github.com/streambind/streambind/binder/internal/lagread"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/binder/internal/logtext"
	"github.com/streambind/streambind/stream"
)

// consumer is a consumer binding of one destination.
type consumer struct {
	bd    *Binder
	spec  stream.ConsumerSpec
	opts  consumerOptions
	log   *slog.Logger
	dest  string
	queue string // the named group's queue; "" for an anonymous consumer
	conc  int

	// staleAcks counts acks (and nacks) dropped because their delivery
	// came from a channel that is gone (tests read it).
	staleAcks atomic.Int64
	// expandPeak is the most decompressed bytes a channel of the consumer
	// held at once (expandBudget), for tests.
	expandPeak atomic.Int64
	// Dead-letter counters (stream.DeadLetterStats).
	dlCounts dlcount.Counts
	lag      lagread.Lazy // Lag's reads of the queue's depth (lag.go)
	// running is the queue of the current run, for rebindConsumers.
	running atomic.Pointer[string]
	// dlDown is why dead letters cannot be sent (the broker refuses DLX or
	// the DLQ); clear once one succeeds.
	dlDown dlhold.Down
	// anonDLX caches whether the DLX exists, for an anonymous consumer's
	// dead letters (dlxMissing).
	anonDLX dlxCheck
	// subDown is why the consumer is not consuming: subscribing again
	// after its channel was lost or the broker cancelled it fails (its
	// queue deleted and declaring it again refused, say); nil otherwise.
	subDown atomic.Pointer[error]
	// keptWait holds the wait queues found with the other durability
	// and used as they exist (declareTopology), each WARNed about once.
	keptWait sync.Map // queue name -> true

	life *lifecycle.Lifecycle // Start, Stop, Pause, Resume, close
	// latest is the run started last, for readers that cannot take the
	// lifecycle lock (tests).
	latest atomic.Pointer[run]
	// beforeEnter, set by tests only (before Start), runs in the
	// sequential worker between taking a delivery and enter.
	beforeEnter func()
	// beforeAckFlush, set by tests only, runs in flushAcksLocked just
	// before the held acks are written: it stands in for a write the
	// socket does not take.
	beforeAckFlush atomic.Pointer[func()]
}

var (
	_ stream.Consumer             = (*consumer)(nil)
	_ stream.DeadLetterReporter   = (*consumer)(nil)
	_ stream.DeadLetterReporter   = consumers(nil)
	_ stream.BindingHealthChecker = (*consumer)(nil)
	_ stream.BindingHealthChecker = consumers(nil)
)

// Health is nil unless the consumer cannot subscribe again (its channel
// was lost or the broker cancelled it, and the re-subscription fails: it
// consumes nothing though its connection is up), or the broker refused the
// binding's last dead letter for reasons of the destination (no permission
// on DLX, a DLX or DLQ that cannot be declared again), or does not take
// it for now after dlDownAfter attempts (the DLQ full: the message is held,
// see deadLetter); each clears when a subscription or dead letter
// succeeds. It implements
// [stream.BindingHealthChecker].
func (c *consumer) Health(context.Context) error {
	var errs []error
	who := fmt.Sprintf("rabbit: consumer %s (destination %q, group %q)", c.spec.Binding, c.dest, c.spec.Group)
	if e := c.subDown.Load(); e != nil {
		errs = append(errs, fmt.Errorf("%s is not consuming: %w", who, *e))
	}
	if e := c.dlDown.Health(who); e != nil {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// DeadLetterStats counts the dead letters that had to be cut to fit the
// broker's limits and the failed messages dropped because the broker
// refused even their fitted dead letter.
func (c *consumer) DeadLetterStats() stream.DeadLetterStats {
	return c.dlCounts.Stats()
}

// runningQueue is the queue the consumer currently consumes, "" when
// stopped.
func (c *consumer) runningQueue() string {
	if q := c.running.Load(); q != nil {
		return *q
	}
	return ""
}

// RequeuesRejected implements [stream.RejectRequeuer]: with
// requeue-rejected in effect (see requeuesRejected) a failed message is
// requeued, not dead-lettered or dropped, and the core counts and logs it
// so.
func (c *consumer) RequeuesRejected() bool { return c.requeuesRejected() }

// requeuesRejected applies SCSt's rule for requeue-rejected where a DLQ
// is there to take the message (RabbitMessageChannelBinder: with retries
// a failed message is always recovered — republished or rejected without
// requeue — and with republishToDlq it is republished even without
// retries): with dlq, it requeues only with max-attempts 1, no
// retry-delays and republish-to-dlq false. Without dlq it requeues:
// nothing would take the message. An anonymous consumer with dlq follows
// the rule of dlq, as in SCSt (its error handler does not depend on the
// group): its failed messages go to the DLX (deadLetters).
func (c *consumer) requeuesRejected() bool {
	retries := c.spec.Consumer.MaxAttempts > 1 || len(c.spec.Consumer.RetryDelays) > 0
	return c.opts.requeueRejected && (!c.deadLetters() || !retries && !c.opts.republishToDlq)
}

// partitioned reports whether the consumer's queue is a partition's:
// partitioned on a named group. SCSt's provisioner ignores partitioned on
// an anonymous consumer, whose queue gets every partition's messages.
func (c *consumer) partitioned() bool { return c.spec.Group != "" && c.spec.Consumer.Partitioned }

// DeadLettersWithoutGroup implements [stream.AnonymousDeadLetterer]: an
// anonymous consumer with dlq sends its failed messages to the DLX
// (deadLetters), so the core counts them as dead-lettered.
func (c *consumer) DeadLettersWithoutGroup() bool { return c.deadLetters() }

// dlq reports whether failed messages go to a DLQ: dlq (SCSt's
// auto-bind-dlq) on a named group with a durable queue. With
// durable-subscription false SCSt's provisioner declares no DLQ (nor the
// DLX) for the group, as for an anonymous consumer: its queue has the
// x-dead-letter-* arguments only (deadLetters).
func (c *consumer) dlq() bool {
	return c.spec.Group != "" && c.spec.Consumer.DLQ && !c.opts.nonDurable
}

// noDLQ says why a consumer with dlq has no DLQ of its own (!dlq()), for
// the logs.
func (c *consumer) noDLQ() string {
	if c.spec.Group == "" {
		return "anonymous consumer"
	}
	return "group with durable-subscription false"
}

// deadLetters reports whether failed messages go to the DLX: dlq on a
// named group (whose DLQ is bound there) or on an anonymous consumer,
// whose queue has the x-dead-letter-* arguments but no DLQ (topology).
// With republish-to-dlq the binder republishes them to the DLX for both,
// as SCSt's RabbitMessageChannelBinder does (getErrorMessageHandler does
// not look at the group); without it the broker dead-letters them.
func (c *consumer) deadLetters() bool { return c.spec.Consumer.DLQ }

// topology returns what the consumer declares for queue q, as SCSt's
// provisioner does: the destination exchange; the queue, with SCSt's
// x-dead-letter-* arguments when dlq is on, bound with binding-routing-key
// (or <binding-routing-key|destination>-<instance-index> when
// partitioned, on a named group only); with dlq, the DLX and the DLQ.
func (c *consumer) topology(q string) topology {
	cc := c.spec.Consumer
	o := c.opts.queueOptions
	t := o.destinationTopology(c.dest)
	// With dlq, the queue has SCSt's x-dead-letter-* arguments also when
	// anonymous (SCSt's provisioner gives its AnonymousQueue the same
	// queueArgs), though no DLQ is declared for it (nor the DLX): its
	// failed messages go to the DLX with dead-letter-routing-key, else the
	// queue's own name, which no DLQ is bound with, republished by the
	// binder (republish-to-dlq) or dead-lettered by the broker.
	// An anonymous queue is bound as an unpartitioned one (binding-routing-key,
	// else "#") and receives every partition's messages, as SCSt's
	// provisioner binds it (partitioned = !anonymous && isPartitioned()).
	qs := o.groupQueueSpec(c.dest, q, cc.DLQ, c.partitioned(), cc.InstanceIndex)
	switch {
	case c.spec.Group == "":
		qs.durable, qs.exclusive, qs.autoDelete = false, true, true
	case c.opts.nonDurable:
		// SCSt's durable-subscription: false: new Queue(name, false,
		// false, true, args), without a DLQ (dlq).
		qs.durable, qs.autoDelete = false, true
	}
	t.queues = []queueSpec{qs}
	c.withRetryQueues(&t, q) // retryqueues.go
	if c.dlq() {
		t.withDLQ(o, o.dlqSpec(o.baseQueue(c.dest, c.spec.Group), q, c.opts.republishToDlq))
	}
	return t
}

// dlqLogAttrs are the dead-letter settings of the start-up log line.
func (c *consumer) dlqLogAttrs() []any {
	if !c.dlq() {
		return nil
	}
	return []any{"dead_letter_routing_key", c.opts.dlRoutingKey(c.queue), "republish_to_dlq", c.opts.republishToDlq, "requeue_rejected", c.requeuesRejected()}
}

// dlqTopology is the dead-letter part of the consumer's topology (its DLX
// and DLQ).
func (c *consumer) dlqTopology() topology {
	t := c.topology(c.queue)
	t.exchange, t.queues = "", nil
	return t
}

// declare declares t on a fresh channel of the consumer connection
// (declareTopology).
func (c *consumer) declare(ctx context.Context, t topology) error {
	return c.declareTopology(t, func(t topology) error { return c.bd.sub.declare(ctx, t) })
}

func (c *consumer) errorf(op string, err error) error {
	return fmt.Errorf("rabbit: %s consumer %s (destination %q, group %q): %w", op, c.spec.Binding, c.dest, c.spec.Group, err)
}

// Start subscribes (declaring the topology again) and begins delivery.
func (c *consumer) Start(ctx context.Context) error { return c.life.Start(ctx, c.startRun) }

func (c *consumer) startRun(ctx context.Context) (lifecycle.Run, error) {
	q := c.queue
	if q == "" {
		q = c.opts.anonymousQueue(c.dest, randomID())
	}
	r := newRun(c, q)
	s, deliveries, err := r.subscribe(ctx)
	if err != nil {
		r.loopCancel()
		r.cancel()
		return nil, err
	}
	r.wg.Add(c.conc)
	for w := range c.conc {
		go r.worker(w)
	}
	go r.loop(s, deliveries)
	c.running.Store(&q)
	c.latest.Store(r)
	return r, nil
}

// Stop stops intake, waits (bounded by ctx) for in-flight handler calls to
// finish and be acknowledged, then closes the channel, so that the broker
// requeues whatever was prefetched and not handled.
func (c *consumer) Stop(ctx context.Context) error { return c.life.Stop(ctx) }

// Pause stops handing messages to the handler and waits (bounded by ctx)
// for the calls in flight; the subscription stays (prefetched messages wait
// in the client, unacknowledged).
func (c *consumer) Pause(ctx context.Context) error { return c.life.Pause(ctx) }

// Resume undoes Pause.
func (c *consumer) Resume(ctx context.Context) error { return c.life.Resume(ctx) }

func (c *consumer) close(ctx context.Context) error { return c.life.Close(ctx) }

// chanSession is one consuming channel; deliveries remember theirs so that
// an ack never reaches a newer channel (delivery tags restart per channel).
type chanSession struct {
	ch  *amqp.Channel
	gen uint64
	tag string
	// closed receives why the broker closed the channel (NotifyClose):
	// amqp091-go sends it before it closes the deliveries.
	closed chan *amqp.Error
	// gone is closed when the run gives the channel up (lost, or the
	// consumer cancelled): a dead letter held for a delivery of it stops
	// waiting, as the broker redelivers that delivery.
	gone chan struct{}
	// mem bounds the decompressed bodies of the channel's deliveries held
	// at once (expandBudget, springbatch.go). One per channel: a lost
	// channel's deliveries are redelivered and never settled on it, so
	// their share is dropped with it rather than leaked into the next.
	mem *expandBudget
}

// closeReason is why the broker closed s's channel, nil when it did not
// (the consumer was cancelled, the channel is open).
func (s *chanSession) closeReason() *amqp.Error {
	select {
	case e := <-s.closed:
		return e
	default:
		return nil
	}
}

type inbound struct {
	d amqp.Delivery
	s *chanSession
	// grp is the delivery a part of a Spring AMQP batch came in (expand,
	// springbatch.go): the part's settlement is recorded there, and the
	// delivery settled once every part is (run.ack); nil otherwise.
	grp *splitBatch
	// bad is why the delivery could not be expanded (errBadSpringMessage):
	// it is settled as failed for good without a handler call.
	bad error
	// held is the share of s.mem (expandBudget) its decompressed body
	// holds, given back when the delivery is settled (run.ack,
	// ackHandled); for a batch, on the delivery as received (grp.orig).
	held int64
}

// run is one started period of a consumer.
type run struct {
	c     *consumer
	queue string

	ctx    context.Context // handlers' context; cancelled when Stop runs out of time
	cancel context.CancelFunc

	loopCtx    context.Context // cancelled by stop
	loopCancel context.CancelFunc

	session atomic.Pointer[chanSession]
	// phase is what the run's end waits for (stopWait), for Stop's error.
	phase   atomic.Int32
	workers []chan inbound
	rr      atomic.Uint32
	wg      sync.WaitGroup
	done    chan struct{}

	mu      sync.Mutex
	paused  bool
	resumed chan struct{} // closed when not paused
	pausing chan struct{} // closed when paused (holdWait)
	active  int
	idle    chan struct{} // signalled when active drops to 0

	// Ack coalescing (one worker, no batch mode; see ackHandled): the acks
	// of handled messages not yet sent, as one multiple ack up to pendTag
	// on pendS, under ackMu. The worker records them; the worker, the
	// loop (before it gives up a channel the broker cancelled the consumer
	// of), Pause and a Stop that ran out of time send them.
	coalesce    bool
	ackMu       sync.Mutex
	pendS       *chanSession
	pendTag     uint64
	pendN       int
	pendAt      time.Time // when the first pending ack was recorded
	handleStart time.Time // when the current handler call began (worker only)
}

// Ack coalescing bounds: at most a quarter of prefetch acks are held
// (the broker keeps delivering meanwhile), and none is held across a
// handler call once it is ackHold old or its own handler took that long.
const (
	ackHold        = time.Millisecond
	ackHoldDivisor = 4
)

func newRun(c *consumer, q string) *run {
	r := &run{c: c, queue: q, done: make(chan struct{}), resumed: make(chan struct{}), pausing: make(chan struct{}), idle: make(chan struct{}, 1)}
	close(r.resumed)
	r.ctx, r.cancel = context.WithCancel(c.bd.ctx)
	r.loopCtx, r.loopCancel = context.WithCancel(c.bd.ctx)
	r.workers = make([]chan inbound, c.conc)
	for i := range r.workers {
		r.workers[i] = make(chan inbound, c.opts.prefetch)
	}
	// With one worker outside batch mode every delivery of a channel is
	// settled in delivery order, so a multiple ack covers exactly the
	// handled messages; with several workers it would ack others' too.
	r.coalesce = c.conc == 1 && !c.spec.Consumer.BatchMode && c.opts.prefetch/ackHoldDivisor > 1
	return r
}

// subscribe opens a channel, sets the prefetch, declares the topology and
// starts consuming, for as long as ctx lasts (untilAnsweredValue: a
// subscription the broker answers later is cancelled with its channel).
func (r *run) subscribe(ctx context.Context) (*chanSession, <-chan amqp.Delivery, error) {
	type subscription struct {
		s  *chanSession
		ds <-chan amqp.Delivery
	}
	sub, err := untilAnsweredValue(ctx, "subscribe to queue "+strconv.Quote(r.queue), func() (subscription, error) {
		var sub subscription
		// A refused declaration closes the channel: declareTopology
		// subscribes again on a new one to keep a wait queue as it exists.
		err := r.c.declareTopology(r.c.topology(r.queue), func(t topology) error {
			s, ds, err := r.subscribeOnce(ctx, t)
			sub = subscription{s, ds}
			return err
		})
		return sub, err
	}, func(sub subscription) { _ = sub.s.ch.Close() })
	if err != nil {
		return nil, nil, err
	}
	r.session.Store(sub.s)
	return sub.s, sub.ds, nil
}

// subscribeOnce subscribes on a new channel, declaring t (the consumer's
// topology) on it first.
func (r *run) subscribeOnce(ctx context.Context, t topology) (*chanSession, <-chan amqp.Delivery, error) {
	c := r.c
	ch, gen, err := c.bd.sub.channel(ctx)
	if err != nil {
		return nil, nil, err
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	fail := func(err error) (*chanSession, <-chan amqp.Delivery, error) {
		_ = ch.Close()
		// The connection lost meanwhile: the broker is unavailable, and
		// a Start at start-up tries again (stream.App), rather than fail.
		if conn, g, cerr := c.bd.sub.current(); cerr != nil || g != gen || conn.IsClosed() {
			err = stream.Unavailable(err)
		}
		return nil, nil, err
	}
	if err := ch.Qos(c.opts.prefetch, 0, false); err != nil {
		return fail(fmt.Errorf("set prefetch: %w", err))
	}
	if err := t.declare(ch); err != nil {
		return fail(err)
	}
	tag := c.opts.consumerTag(c.spec.Binding)
	ds, err := ch.Consume(r.queue, tag, false, false, false, false, nil)
	if err != nil {
		return fail(fmt.Errorf("consume queue %q: %w", r.queue, err))
	}
	return &chanSession{ch: ch, gen: gen, tag: tag, closed: closed, gone: make(chan struct{}),
		mem: newExpandBudget(c.bd.s.maxMessageSize, &c.expandPeak)}, ds, nil
}

// loop dispatches deliveries to the workers and re-subscribes after a lost
// channel or connection until stop.
func (r *run) loop(s *chanSession, ds <-chan amqp.Delivery) {
	defer r.finish()
	defer r.c.subDown.Store(nil) // a stopped consumer is not down
	log := r.c.log
	backoff := r.c.bd.s.reconnectInit
	for {
		r.dispatch(s, ds)
		if r.loopCtx.Err() != nil {
			return
		}
		// The deliveries ended: the channel died, or the broker cancelled
		// the consumer (queue deleted, node down) and left the channel
		// open. Then its delivery tags are still valid: the acks held for
		// coalescing go out on it first, so that handled messages are not
		// redelivered. Close it, so that its unacked deliveries are
		// requeued and the late acks of its workers are dropped as stale,
		// not leaked.
		r.ackMu.Lock()
		r.flushAcksLocked() // dropped if the channel is closed
		r.session.Store(nil)
		r.ackMu.Unlock()
		close(s.gone)
		reason := s.closeReason()
		_ = s.ch.Close()
		r.logLost(reason)
		for {
			var err error
			r.phase.Store(phaseResubscribe)
			s, ds, err = r.subscribe(r.loopCtx)
			r.phase.Store(phaseHandlers)
			if err == nil {
				r.c.subDown.Store(nil)
				log.Info("rabbit: consumer re-subscribed", "queue", r.queue, "generation", s.gen)
				backoff = r.c.bd.s.reconnectInit
				break
			}
			if r.loopCtx.Err() != nil {
				return
			}
			down := fmt.Errorf("subscribing to queue %q again fails: %w", r.queue, err)
			r.c.subDown.Store(&down)
			log.Warn("rabbit: re-subscribe failed; retrying", "queue", r.queue, "retry_in", backoff, "error", err)
			if !sleepCtx(r.loopCtx, jitter(backoff)) {
				return
			}
			backoff = min(backoff*2, r.c.bd.s.reconnectMax)
		}
	}
}

// logLost logs the loss of the consumer channel, which the broker closed
// for reason (nil: it cancelled the consumer, or the connection is gone).
func (r *run) logLost(reason *amqp.Error) {
	log := r.c.log
	if timedOut, after := consumerTimedOut(reason); timedOut {
		// The broker's consumer_timeout (30 minutes by default) runs from
		// a delivery, and a prefetched message is delivered while it waits
		// for a worker: the last of a full prefetch waits prefetch ÷
		// concurrency handler calls.
		log.Warn("rabbit: the broker closed the consumer channel because a delivery was not acknowledged within its consumer_timeout; the broker redelivers every message the channel held unacknowledged (a duplicate where the handler had run). Prefetched messages count toward the timeout while they wait for a worker, so each must be handled within consumer_timeout × concurrency ÷ prefetch on average: lower prefetch, or raise the broker's consumer_timeout (rabbitmq.conf); re-subscribing",
			"queue", r.queue, "prefetch", r.c.opts.prefetch, "concurrency", r.c.conc, "consumer_timeout", after, "reason", reason.Reason)
		return
	}
	if reason != nil {
		log.Warn("rabbit: consumer channel lost; re-subscribing", "queue", r.queue, "reason", reason.Error())
		return
	}
	log.Warn("rabbit: consumer channel lost; re-subscribing", "queue", r.queue)
}

// consumerTimedOut reports whether the broker closed a channel (reason)
// because a delivery was not acknowledged within its consumer_timeout, and
// the timeout the reason names (0 when it names none). RabbitMQ 3.10:
// "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out.
// Timeout value used: 1800000 ms. ...".
func consumerTimedOut(reason *amqp.Error) (bool, time.Duration) {
	if reason == nil || reason.Code != amqp.PreconditionFailed ||
		!strings.Contains(reason.Reason, "delivery acknowledgement") || !strings.Contains(reason.Reason, "timed out") {
		return false, 0
	}
	_, rest, ok := strings.Cut(reason.Reason, "Timeout value used: ")
	if !ok {
		return true, 0
	}
	ms, _, _ := strings.Cut(rest, " ")
	n, err := strconv.ParseInt(strings.TrimSuffix(ms, "."), 10, 64)
	if err != nil || n < 0 {
		return true, 0
	}
	return true, time.Duration(n) * time.Millisecond
}

func (r *run) dispatch(s *chanSession, ds <-chan amqp.Delivery) {
	for {
		select {
		case d, ok := <-ds:
			if !ok {
				return
			}
			w := r.route(&d)
			if mayExpand(&d) {
				parts := r.expand(inbound{d: d, s: s})
				// A Spring AMQP batch's parts go to one worker, in order.
				for _, in := range parts {
					select {
					case r.workers[w] <- in:
					case <-r.loopCtx.Done():
						return
					}
				}
				if parts != nil {
					continue
				}
			}
			select {
			case r.workers[w] <- inbound{d: d, s: s}:
			case <-r.loopCtx.Done():
				return
			}
		case <-r.loopCtx.Done():
			return
		}
	}
}

// route picks the worker of a delivery: by partition header, else key,
// else round robin; so one partition (or key) is handled in order.
func (r *run) route(d *amqp.Delivery) int {
	n := len(r.workers)
	if n == 1 {
		return 0
	}
	k := headerString(d.Headers[stream.HeaderPartition])
	if k == "" {
		k = headerString(d.Headers[keyHeader])
	}
	if k == "" {
		return int(r.rr.Add(1) % uint32(n))
	}
	h := fnv.New32a()
	h.Write([]byte(k))
	return int(h.Sum32() % uint32(n))
}

// stop ends intake; workers finish their current message and exit.
func (r *run) stop() {
	r.loopCancel()
	r.mu.Lock()
	if r.paused {
		r.paused = false
		close(r.resumed)
		r.pausing = make(chan struct{})
	}
	r.mu.Unlock()
}

// What a run's end waits for (run.phase): a Stop whose ctx ends says which,
// as its broker calls have no timeout of their own (a stalled connection
// holds them until its heartbeat fails).
const (
	phaseHandlers    int32 = iota // the workers' handler calls
	phaseResubscribe              // re-subscribing (the broker's answer to a declaration)
	phaseCancel                   // the broker's basic.cancel-ok
	phaseClose                    // the broker's channel.close-ok
)

// stopWait says what the run's end is waiting for.
func (r *run) stopWait() string {
	switch r.phase.Load() {
	case phaseResubscribe:
		// The workers finish the old channel's deliveries meanwhile.
		r.mu.Lock()
		active := r.active
		r.mu.Unlock()
		w := fmt.Sprintf("re-subscribing to queue %q: the broker has not answered", r.queue)
		if active > 0 {
			w = "handlers still running, and " + w
		}
		return w
	case phaseCancel:
		return fmt.Sprintf("handlers done; the broker has not answered basic.cancel of the consumer of queue %q", r.queue)
	case phaseClose:
		return fmt.Sprintf("handlers done; the broker has not answered closing the channel of the consumer of queue %q", r.queue)
	}
	return "handlers still running"
}

// finish waits for the workers, then closes the channel: the broker
// requeues what is unacknowledged.
func (r *run) finish() {
	r.phase.Store(phaseHandlers)
	r.wg.Wait()
	if s := r.session.Load(); s != nil {
		r.phase.Store(phaseCancel)
		_ = s.ch.Cancel(s.tag, false)
		r.phase.Store(phaseClose)
		_ = s.ch.Close()
	}
	r.cancel()
	close(r.done)
}

// Stop implements [lifecycle.Run]: it ends intake and waits, bounded by
// ctx, for the run to finish; when ctx ends first it cancels the handlers'
// context (their messages are Nak'ed), has the acks held for coalescing
// sent (the handler still running may never return, and the binder's
// Close then closes the channel) and says what the end waits for.
func (r *run) Stop(ctx context.Context) error {
	r.c.running.Store(nil)
	r.stop()
	if err := lifecycle.Wait(ctx, r.done); err != nil {
		r.cancel()
		// Sent from a goroutine, as soon as ackMu is free, without Stop
		// waiting past its ctx, which has ended: the holder of ackMu may
		// be a flush blocked on the connection, or the worker recording
		// an ack or looking at the held ones just before a handler call
		// that may never return; and the write itself may not end before
		// writeBounded fails it (one to two heartbeats; see flushAcksCtx).
		// The run does not close its channel before the write is done
		// (the worker's last flush waits for ackMu), nor does the
		// binder's Close close the connection (it waits for the write,
		// bounded: connMgr.acks).
		if r.coalesce {
			r.goFlushAcks(nil)
		}
		return fmt.Errorf("%s: %w", r.stopWait(), err)
	}
	return nil
}

// flushAcksCtx is flushAcks waiting for the write no longer than ctx
// lasts. amqp091-go's Ack takes no context, and no write of a connection
// can be cut short but by closing the connection (closing the channel
// does not do: channel.close is a write queued behind the one in
// progress), which the consumer shares with the binder's other
// consumers; a write the socket does not take fails after one to two
// heartbeats (writeBounded), and then the broker redelivers the messages
// (Warn "ack failed"). So when ctx ends first the flush goes on without
// the caller: the acks are sent when the socket takes them, not dropped,
// and the binder's end waits for them (bounded) before it closes the
// connection (goFlushAcks).
func (r *run) flushAcksCtx(ctx context.Context) error {
	if !r.coalesce {
		return nil
	}
	if r.ackMu.TryLock() {
		held := r.pendN > 0
		r.ackMu.Unlock()
		if !held {
			return nil // the usual Pause: no goroutine
		}
	}
	sent := make(chan struct{})
	r.goFlushAcks(sent)
	select {
	case <-sent:
		return nil
	case <-ctx.Done():
		select {
		case <-sent:
			return nil
		default:
		}
		return fmt.Errorf("the acks of handled messages held for coalescing are still being sent (they go when the connection takes them; else the broker redelivers those messages): %w", ctx.Err())
	}
}

// goFlushAcks has the held acks sent by a goroutine, which closes sent
// (when not nil) once they are. The binder's end waits for it (bounded)
// before it closes the connection: counted before the goroutine starts,
// so that a Close right after Pause or Stop sees it.
func (r *run) goFlushAcks(sent chan struct{}) {
	f := &r.c.bd.sub.acks
	f.add()
	go func() {
		defer f.done()
		r.flushAcks()
		if sent != nil {
			close(sent)
		}
	}()
}

// Done implements [lifecycle.Run].
func (r *run) Done() <-chan struct{} { return r.done }

// Waiting implements [lifecycle.Waiter].
func (r *run) Waiting() string { return r.stopWait() }

// Pause implements [lifecycle.Run].
func (r *run) Pause(ctx context.Context) error {
	r.mu.Lock()
	if !r.paused {
		r.paused = true
		r.resumed = make(chan struct{})
		close(r.pausing)
	}
	for r.active > 0 {
		r.mu.Unlock()
		select {
		case <-r.idle:
		case <-ctx.Done():
			return fmt.Errorf("handlers still running: %w", ctx.Err())
		}
		r.mu.Lock()
	}
	r.mu.Unlock()
	// No handler call is active, but the worker may hold acks: it took a
	// delivery after its last call and waits in enter for Resume. Sent
	// bounded by ctx (flushAcksCtx).
	return r.flushAcksCtx(ctx)
}

// Resume implements [lifecycle.Run].
func (r *run) Resume() {
	r.mu.Lock()
	if r.paused {
		r.paused = false
		close(r.resumed)
		r.pausing = make(chan struct{})
	}
	r.mu.Unlock()
}

// enter waits while paused and counts a handler call; false when stopping.
func (r *run) enter() bool {
	r.mu.Lock()
	for r.paused {
		ch := r.resumed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-r.loopCtx.Done():
			return false
		}
		r.mu.Lock()
	}
	if r.loopCtx.Err() != nil {
		r.mu.Unlock()
		return false
	}
	r.active++
	r.mu.Unlock()
	return true
}

func (r *run) exit() {
	r.mu.Lock()
	if r.paused {
		r.flushAcks() // Pause returns with the handled messages acked
	}
	r.active--
	if r.active == 0 {
		select {
		case r.idle <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
}

// holdBegin and holdEnd bracket a dead letter held until the DLQ takes it
// (deadLetter): the handler call is over, so Pause does not wait for the
// hold (as it does not for requeueLater's); holdEnd counts the call again
// for the worker's exit.
func (r *run) holdBegin() { r.exit() }

func (r *run) holdEnd() {
	r.mu.Lock()
	r.active++
	r.mu.Unlock()
}

func (r *run) worker(w int) {
	defer r.wg.Done()
	defer r.flushAcks()
	q := r.workers[w]
	batch := r.c.spec.Consumer.BatchMode
	if r.c.spec.AsyncHandler != nil && !batch {
		r.pipeline(q)
		return
	}
	for {
		var in inbound
		select {
		case in = <-q:
		default:
			r.flushAcks() // nothing waiting: the held acks go now
			select {
			case in = <-q:
			case <-r.loopCtx.Done():
				return
			}
		}
		if in.s.ch.IsClosed() {
			continue // redelivered on the new channel
		}
		if r.c.beforeEnter != nil {
			r.c.beforeEnter()
		}
		if !r.enter() {
			return
		}
		if in.s.ch.IsClosed() {
			// Lost while enter waited for a Resume: redelivered on the
			// new channel too.
			r.exit()
			continue
		}
		if r.coalesce {
			r.handleStart = time.Now()
			r.flushAcksHeld(r.handleStart)
		}
		var later []inbound
		if batch {
			later = r.handleBatch(r.fillBatch(q, []inbound{in}))
		} else if r.handle(in) {
			later = []inbound{in}
		}
		r.exit()
		if len(later) > 0 {
			r.requeueLater(later, time.Now(), nil)
		}
	}
}

// fillBatch adds to a batch (ins, its first delivery) the deliveries
// waiting in q, up to batch-size. With receive-timeout it then waits up to
// that long for each next one, and hands the batch over short of
// batch-size once none came in time: Spring AMQP's consumer batching
// (SCSt's enable-batching), whose container receives each next message
// with receive-timeout and releases a partial batch when one times out.
// Without it the batch is what had arrived. A Pause or Stop hands it over
// at once: Pause waits for the handler call, and Stop would wait too.
// Deliveries of a lost channel are dropped (redelivered on the new one).
func (r *run) fillBatch(q <-chan inbound, ins []inbound) []inbound {
	wait := r.c.opts.receiveTimeout
	var t *time.Timer
	var pausing <-chan struct{}
	if wait > 0 {
		t = time.NewTimer(wait)
		defer t.Stop()
		r.mu.Lock()
		pausing = r.pausing // replaced only at Resume; this call is not paused
		r.mu.Unlock()
	}
	for len(ins) < r.c.opts.batchSize {
		var x inbound
		select {
		case x = <-q:
		default:
			if wait <= 0 {
				return ins
			}
			t.Reset(wait) // from the last delivery, as each receive
			select {
			case x = <-q:
			case <-t.C:
				return ins
			case <-pausing:
				return ins
			case <-r.loopCtx.Done():
				return ins
			}
		}
		if !x.s.ch.IsClosed() {
			ins = append(ins, x)
		}
	}
	return ins
}

// requeueLater holds deliveries for redelivery-delay, then nacks them with
// requeue. The worker waits meanwhile (the next messages of its partition
// or key come after the held one, as on the other binders), and the held
// deliveries still count toward prefetch. The sequential worker's hold is
// outside the handler call, so Pause does not wait for it; Stop cuts it
// short. A pipelined worker's delivery counts as active until it is
// settled, requeued included (Pause returns only once it is handed back):
// it passes pausing (run.pausing), and a Pause cuts the hold short too,
// the delivery nacked at once. The delay runs from since, when the
// handler's result came: a pipelined worker settles a result only once the
// earlier ones were settled, and a delivery that waited behind others
// waits only what is left of redelivery-delay (else a window of Nak'ed
// deliveries would be held one full delay after another).
func (r *run) requeueLater(ins []inbound, since time.Time, pausing <-chan struct{}) {
	r.flushAcks() // not held through the hold
	if d := r.c.opts.redeliveryDelay - time.Since(since); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.loopCtx.Done():
			t.Stop()
		case <-pausing: // nil: never
			t.Stop()
		}
	}
	for _, in := range ins {
		r.ack(in, settleRequeue)
	}
}

// handle calls the handler and settles the delivery; true when it is to be
// requeued after redelivery-delay.
func (r *run) handle(in inbound) bool {
	if in.bad != nil {
		return r.settleBad(in)
	}
	if in.grp != nil && in.grp.requeued() {
		// An earlier part of its batch has the delivery requeued (after
		// redelivery-delay): this one comes again with it.
		r.ack(in, settleRequeue)
		return false
	}
	env := r.envelope(&in.d)
	r.markRetry(&in.d, env) // retryqueues.go
	err := r.call(func() error { return r.c.spec.Handler(r.ctx, env) })
	return r.settle(in, env, err, nil, false)
}

// envelope is delivery d's message (fromDelivery), with its properties
// as Spring AMQP's headers (withDeliveryHeaders), how it was received
// (Received) and its received headers (withReceivedHeaders), and a WARN
// line when the connection had to replace headers of it that the AMQP
// client cannot decode (headerGuard). Its headers map is made with room
// for them all (envelopeSize), so that adding them does not grow it.
func (r *run) envelope(d *amqp.Delivery) stream.Envelope {
	env := fromDeliverySized(d, envelopeSize(d))
	withDeliveryHeaders(env.Headers, d)
	env.Received = r.received(d)
	r.restoreRetryOrigin(d, env.Headers, &env.Received) // retryqueues.go
	withReceivedHeaders(env.Headers, &env.Received, d.ConsumerTag)
	if note, ok := env.Headers[UndecodableHeaders]; ok {
		r.c.log.Warn("rabbit: message delivered with headers the AMQP client cannot decode replaced or dropped (header "+UndecodableHeaders+" says which)",
			"queue", r.queue, "message_id", d.MessageId, "headers", logtext.Bound(note))
	}
	return env
}

// handleBatch returns the deliveries to requeue after redelivery-delay.
func (r *run) handleBatch(ins []inbound) []inbound {
	var later []inbound
	// Not handed to the BatchHandler: a delivery that could not be
	// expanded (settled as failed first), and a part of a Spring AMQP
	// batch an earlier part of which has the delivery requeued (it comes
	// again with it, as on the sequential worker: handle).
	skip := func(in inbound) bool { return in.bad != nil || in.grp != nil && in.grp.requeued() }
	if slices.ContainsFunc(ins, skip) {
		good := make([]inbound, 0, len(ins))
		for _, in := range ins {
			switch {
			case !skip(in):
				good = append(good, in)
			case in.bad == nil:
				r.ack(in, settleRequeue)
			case r.settleBad(in):
				later = append(later, in)
			}
		}
		if ins = good; len(ins) == 0 {
			return later
		}
	}
	envs := make([]stream.Envelope, len(ins))
	for i := range ins {
		envs[i] = r.envelope(&ins[i].d)
	}
	// The deliveries the core settles early (stream.BatchSettler: the
	// handled ones before a failed one, before its retries, and one that
	// failed for good, before the ones after it) are settled as soon as
	// it says so, each on its own by its outcome as at the end (a
	// multiple ack is exact only over tags of the channel handed out in
	// order and all settled; a dead letter held while the DLQ refuses
	// holds the call). The outcome settles the others.
	//
	// A part with a failed one is settled outside the call's count, as a
	// dead letter held after the call is (holdBegin): Pause does not wait
	// for its hold while the DLQ refuses it. The call is counted again
	// (enter) before the function goes on, so that it never runs on the
	// messages after it while the binding is paused: a Pause that came
	// meanwhile has returned, and the call waits for Resume. A Stop that
	// came meanwhile requeues the held one (dlLater), and the settler
	// returns stream.ErrBatchStop (as when the channel was lost while it
	// waited): the core ends the batch, the rest requeued.
	ctx, prefix := batchprefix.New(r.ctx, len(ins), func(from, to int, outcome error) error {
		if outcome == nil {
			later = append(later, r.settleEach(ins[from:to], envs[from:to], nil, false)...)
			return nil
		}
		r.exit()
		later = append(later, r.settleEach(ins[from:to], envs[from:to], outcome, true)...)
		if !r.enter() {
			r.holdEnd() // the worker's exit balances it
			return errStopping
		}
		if to < len(ins) && r.lostSession(ins[to].s) {
			// Lost while enter waited for a Resume (as the worker checks):
			// the rest is redelivered on the new channel, the function
			// does not go on with it.
			return errLost
		}
		return nil
	})
	// the rest's outcome, indexed from ins[k]
	k, err := prefix.Rest(r.call(func() error { return r.c.spec.BatchHandler(ctx, envs) }))
	return append(later, r.settleEach(ins[k:], envs[k:], err, false)...)
}

// errStopping is what a batch's settler (stream.BatchSettler) returns when
// the consumer began to stop while it settled a failed message (a dead
// letter still held then is requeued when the batch's handling ends): the
// core ends the batch, the rest left for redelivery.
var errStopping = fmt.Errorf("rabbit: the consumer is stopping: %w", stream.ErrBatchStop)

// errLost is what it returns when the channel of the rest of the batch was
// lost while the settler waited for a Resume: the rest is redelivered.
var errLost = fmt.Errorf("rabbit: the channel was lost while the batch waited for a Resume: %w", stream.ErrBatchStop)

// settleEach settles the deliveries of a batch (or of a part of it) each
// by its own outcome (stream.BatchMessageErr(err, i)) and returns those to
// requeue after redelivery-delay. The failed ones are dead-lettered one
// after the other: those behind one held for its dead letter are not
// settled either, so each counts in flight from now until it is.
//
// outside: the handler call's count is given up already (an early
// settlement inside the call, see handleBatch): a held dead letter does
// not give it up again (holdBegin).
func (r *run) settleEach(ins []inbound, envs []stream.Envelope, err error, outside bool) []inbound {
	errs := make([]error, len(ins))
	failed := 0
	for i := range errs {
		if errs[i] = stream.BatchMessageErr(err, i); errs[i] != nil {
			failed++
		}
	}
	held := dlhold.InFlightEach(r.c.spec.Holding, failed)
	defer held.ReleaseAll()
	var later []inbound
	j := 0
	for i := range ins {
		var release func()
		if errs[i] != nil {
			release = held.Take(j)
			j++
		}
		if r.settle(ins[i], envs[i], errs[i], release, outside) {
			later = append(later, ins[i])
		}
	}
	return later
}

// received is how d was received (stream.Received): the consumer's
// destination, the exchange and routing key it was published with, the
// run's queue, the redelivered flag, the timestamp property when set and,
// on a partitioned consumer of a named group, its instance-index (the
// partition its queue is bound to). An anonymous queue gets every
// partition's messages: with partitioned set, a message's partition is
// its scst_partition header's, as the NATS, Redis and in-process binders
// report the partition each message came from (none without the header).
func (r *run) received(d *amqp.Delivery) stream.Received {
	c := r.c
	rc := stream.Received{Destination: c.dest, Exchange: d.Exchange, RoutingKey: d.RoutingKey,
		Queue: r.queue, Redelivered: d.Redelivered, Timestamp: d.Timestamp}
	switch {
	case c.partitioned():
		rc.Partition, rc.HasPartition = c.spec.Consumer.InstanceIndex, true
	case c.spec.Consumer.Partitioned:
		if p, err := strconv.Atoi(headerString(d.Headers[stream.HeaderPartition])); err == nil && p >= 0 {
			rc.Partition, rc.HasPartition = p, true
		}
	}
	return rc
}

// call runs the handler, turning a panic into an error.
func (r *run) call(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rabbit: handler panic: %v", p)
		}
	}()
	return f()
}

// settle acks, nacks or dead-letters a delivery after its handler returned
// err (see the package doc). It returns true when the delivery is to be
// requeued after redelivery-delay (Nak, requeue-rejected, or a dead letter
// that could not be sent for now). release, when not nil, ends the
// delivery's count in flight (a batch's failed delivery, counted by
// handleBatch: dlhold.InFlightEach) as settle returns; with release nil
// deadLetter counts it itself. outside: the handler call's count is given
// up already (settleEach), so a held dead letter does not give it up again.
func (r *run) settle(in inbound, env stream.Envelope, err error, release func(), outside bool) (requeue bool) {
	c := r.c
	if release != nil {
		defer release()
	}
	if err != nil && r.lostSession(in.s) {
		// Its channel is gone: its settlement would be dropped and the
		// broker redelivers it, so a dead letter or a parked retry made
		// now would be a second copy beside the redelivery's, and a
		// requeue a wait of redelivery-delay for nothing.
		c.staleAcks.Add(1)
		c.log.Debug("rabbit: failed delivery of a lost channel not settled; the broker redelivers it", "queue", r.queue, "tag", in.d.DeliveryTag)
		return false
	}
	if dr := stream.AsDelayedRetry(err); dr != nil && r.ctx.Err() == nil { // retryqueues.go
		switch r.retryLater(in, env, dr) {
		case parked:
			return false
		case parkLater:
			return true
		}
		err = dr.Err // refused for good: dead-lettered or dropped below
	}
	switch {
	case err == nil:
		r.ackHandled(in)
	case errors.Is(err, stream.ErrNak) || r.ctx.Err() != nil:
		return true
	case c.requeuesRejected() && in.bad == nil:
		// Not one that cannot be expanded: it would come back for ever.
		return true
	case c.deadLetters() && !c.opts.republishToDlq && !xDeathUnsafe(in.d.Headers):
		// SCSt's republish-to-dlq: false. The queue's x-dead-letter-*
		// arguments make the broker move the rejected message to the DLQ
		// (with its x-death header, without x-exception-*); an anonymous
		// queue's, to a queue bound to the DLX with its key, if any.
		c.log.Debug("rabbit: failed message rejected; the broker dead-letters it", "queue", r.queue, "dlx", c.opts.dlx(), "error", logtext.Error(err))
		r.ack(in, settleReject)
	case c.deadLetters():
		// SCSt's republish-to-dlq (RepublishMessageRecoverer), for a
		// named group and an anonymous consumer alike.
		if !c.opts.republishToDlq {
			c.log.Warn("rabbit: failed message republished to the DLQ by the binder (x-exception-* headers, its x-death as text), though republish-to-dlq is false: its x-death header is malformed (set by another client), and RabbitMQ's own dead-lettering crashes the queue on it, losing the message",
				"queue", r.queue, "message_id", in.d.MessageId)
		}
		switch r.deadLetter(in, env, err, release != nil, outside) {
		case dlSent:
			r.ack(in, settleAck)
		case dlDropped:
			r.reject(in)
		case dlLost:
			c.staleAcks.Add(1) // the broker redelivers it (see the top)
		default:
			return true
		}
	default:
		// Without dlq the broker drops it (or dead-letters it through a
		// dead-letter exchange a policy gives the queue).
		c.log.Debug("rabbit: failed message rejected (no DLQ): the broker drops it, or dead-letters it through the queue's dead-letter exchange, if any", "queue", r.queue, "error", logtext.Error(err))
		r.reject(in)
	}
	return false
}

// reject nacks a delivery without requeue: the broker drops it, or
// dead-letters it when its queue has a dead-letter exchange (by argument
// or policy) — unless its x-death header is malformed or was not
// decodable (xDeathUnsafe): RabbitMQ's dead-lettering crashes the queue on
// it, losing the message and every transient message in the queue, so
// such a delivery is acked (dropped) instead, with a WARN.
func (r *run) reject(in inbound) {
	if xDeathUnsafe(in.d.Headers) {
		r.c.log.Warn("rabbit: failed message dropped by an ack rather than rejected: its x-death header is malformed (set by another client), and RabbitMQ's dead-lettering, should the queue have a dead-letter exchange, crashes the queue on it",
			"queue", r.queue, "message_id", in.d.MessageId)
		r.ack(in, settleAck)
		return
	}
	r.ack(in, settleReject)
}

// xDeathUnsafe reports whether RabbitMQ's dead-lettering may crash the
// queue on a delivery with headers h: its x-death is malformed
// (xDeathCrashesBroker), or the header guard replaced it, its value not
// decodable by amqp091-go (an element nested too deep, say), so that the
// binder cannot tell — the broker dead-letters the x-death it stored.
func xDeathUnsafe(h amqp.Table) bool {
	return xDeathCrashesBroker(h["x-death"]) || guardReplaced(h, "x-death")
}

// xDeathCrashesBroker reports whether RabbitMQ's dead-lettering crashes
// the queue on a message whose x-death header is v (3.10,
// rabbit_dead_letter:update_x_death_header; the message is lost): an
// array with an element that is not a table, or an entry whose count is
// no number (the broker adds 1 to the count of the entry of its queue and
// reason). Any other value is fine: the broker replaces one that is not
// an array (a client that made it text, as this binder's envelopes do).
// It errs on the side of a crash for counts of other types.
func xDeathCrashesBroker(v any) bool {
	xs, ok := v.([]any)
	if !ok {
		return false
	}
	for _, x := range xs {
		t, ok := x.(amqp.Table)
		if !ok {
			return true
		}
		if n, ok := t["count"]; ok {
			switch n.(type) {
			case int8, uint8, int16, uint16, int32, uint32, int64, float32, float64:
			default:
				return true
			}
		}
	}
	return false
}

type dlResult int

const (
	dlSent    dlResult = iota
	dlDropped          // refused for good: the message is dropped
	dlLater            // not sent, the consumer stopping or pausing: the message is requeued
	dlLost             // not sent, its channel lost: the broker redelivers it
)

// A dead-letter publish that fails is retried until it succeeds, with
// the back-off of dlhold.Retry (100 ms doubling to 5 s), and at most
// dlPublishTimeout per attempt. After dlDownAfter failed attempts the
// binding reports its dead letters down (Health). The WARN lines of a hold
// are paced by a dlhold.NewPacer (DEBUG in between).
const (
	dlDownAfter      = dlhold.DownAfter
	dlPublishTimeout = 10 * time.Second
	// dlHeadroom is what a dead letter's headers leave of frame_max for the
	// rest of the content-header frame (Spring AMQP's frameMaxHeadroom).
	dlHeadroom = 20000
)

// deadLetter publishes the message to the dead-letter exchange (DLX) with
// the queue's dead-letter routing key (its name, or
// dead-letter-routing-key), as SCSt republishes, with the x-exception-* and x-original-* headers, fitted
// to the broker's limits (see the package doc), and waits for the broker's
// confirm. A publish that fails (the broker nacks it: the DLQ is full
// with x-overflow reject-publish; no connection; no confirm in time) is
// retried with back-off (100 ms doubling to 5 s) for as long as it fails:
// the delivery is held unacknowledged meanwhile, and the handler is not
// called again for it — requeued, it would be, once a round, for as long
// as the DLQ refuses (a payment made again and again). The worker takes no
// other delivery meanwhile, so a consumer whose DLQ refuses stops once
// each worker holds one (back-pressure, as the Kafka binder's partition
// stops). The hold ends when the publish succeeds (dlSent), when the
// broker refuses the dead letter for good (dlDropped, below), when the
// consumer stops (dlLater: requeued at once, nothing lost, Stop bounded by
// its ctx), when its channel is lost (dlLost: the broker redelivers it),
// and, for a pipelined worker, when a Pause begins (dlLater: the FIFO's
// deliveries behind it, which Pause waits for, cannot be settled before
// it; the handler runs again for it after Resume). Otherwise the hold is
// not a handler call: Pause does not wait for it (holdBegin). A dead letter the
// broker refuses for good (access refused, precondition failed, too large
// even without its payload) is dropped with an ERROR line (dlDropped).
//
// An anonymous consumer's dead letter goes the same way (SCSt republishes
// it as a group's), but no DLQ or DLX is declared for it: when nothing is
// bound to the DLX with its key (returned as unroutable) or the DLX does
// not exist, it is dropped at once with an ERROR line (dlDropped, counted as
// dropped), not retried nor requeued — declaring again would not help, and
// the broker's own dead-lettering of the queue drops it likewise (SCSt's
// republisher rejects a returned dead letter, which the broker then
// dead-letters to nowhere). Whether its DLX exists is checked before the
// publish (dlxCheck), so that a missing one does not close the channel
// the binder's other dead letters share.
//
// outside: the caller gave up the handler call's count already (a batch's
// message settled early, inside the call: handleBatch), so the hold does
// not (holdBegin), and the caller counts the call again, waiting while
// paused.
func (r *run) deadLetter(in inbound, env stream.Envelope, cause error, counted, outside bool) dlResult {
	c := r.c
	// Not settled until the dead letter went (or the message was handed
	// back): in flight meanwhile, however long the DLQ refuses it (unless
	// the caller counts it: counted).
	if !counted {
		defer dlhold.InFlight(c.spec.Holding, 1)()
	}
	h := stream.DeadLetterHeaders(env.Headers, cause)
	// When it was dead-lettered (streambind dlq ls, --since/--until): the
	// dead letter keeps the original's timestamp property. Set once the
	// dead letter was fitted (within the frame's headroom, as the
	// publisher's x-streambind-pub), so that no cut drops it: a dead
	// letter with many small headers lost it first (the largest), and
	// dlq took the original's timestamp for its time.
	at := strconv.FormatInt(time.Now().UnixMilli(), 10)
	delete(h, headerDeadLetteredAt) // an earlier dead-lettering's
	h[stream.HeaderOriginalExchange] = in.d.Exchange
	h[stream.HeaderOriginalRoutingKey] = in.d.RoutingKey
	if env.Received.Queue != "" {
		// As first received (a retry's copy comes back from its wait
		// queue through the default exchange: restoreRetryOrigin).
		h[stream.HeaderOriginalExchange] = env.Received.Exchange
		h[stream.HeaderOriginalRoutingKey] = env.Received.RoutingKey
	}
	// The key goes as a header on the wire (keyHeader, toPublishing),
	// fitted with the others (fitDeadLetter).
	dl := stream.Envelope{Payload: env.Payload, Headers: h, Key: env.Key}
	o := c.opts.queueOptions
	dlx, rk := o.dlx(), o.dlRoutingKey(r.queue)
	dlq := "(none: " + c.noDLQ() + ")"
	if c.dlq() {
		dlq = o.dlqName(o.baseQueue(c.dest, c.spec.Group))
	}
	log := c.log.With("queue", r.queue, "dlx", dlx, "dlq", dlq, "message_id", in.d.MessageId)
	fitted := false
	var msg amqp.Publishing
	redeclared := false
	back := dlhold.Retry(0)
	pacer := dlhold.NewPacer()
	var heldSince time.Time
	wasHeld, released := false, false
	defer func() {
		if released {
			r.holdEnd()
		}
	}()
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(r.ctx, dlPublishTimeout)
		var err error
		if !fitted {
			// The limit is that of the connection the dead letter goes on.
			var conn *amqp.Connection
			if conn, _, err = c.bd.pubMgr.get(ctx); err == nil {
				fitted = true
				fit := r.fitDeadLetter(&dl, frameMax(conn))
				if !fit.Fits {
					cancel()
					log.Error("rabbit: dead letter does not fit the broker's frame_max even without its payload; the failed message is rejected, and the broker dead-letters it as it is (x-death, no x-exception-* headers) through the queue's x-dead-letter-exchange", "frame_max", frameMax(conn), "cause", logtext.Error(cause))
					c.dlCounts.Dropped() // after the log line: what the count shows is logged
					return dlDropped
				}
				if len(fit.Cut) > 0 {
					c.dlCounts.Fitted(fit)
					log.Warn("rabbit: dead letter cut to fit the broker's limits", "cut", strings.Join(fit.Cut, ","), "headers_only", fit.HeadersOnly, "frame_max", frameMax(conn), "max_message_size", c.bd.s.maxMessageSize)
				}
				if fit.KeyDropped {
					log.Warn("rabbit: dead letter sent WITHOUT its key: the key travels as header "+keyHeader+", and it does not fit the dead letter's headers (frame_max less 20,000 bytes); the dead letter's "+stream.HeaderKeySize+" header says its size, "+stream.HeaderTruncated+" lists \"key\"",
						"key_bytes", len(env.Key), "max_header_bytes", dlMaxHeaderBytes(frameMax(conn)), "frame_max", frameMax(conn))
				}
				msg = toPublishing(dl, c.spec.ContentType)
				keepProperties(&msg, &in.d)
				if c.opts.republishTransient {
					msg.DeliveryMode = amqp.Transient // SCSt's republish-delivery-mode
				}
				keepHeaderTypes(&msg, in.d.Headers, dlMaxHeaderBytes(frameMax(conn)), r.withoutWaitQueues)
				keepOriginal(&msg, &in.d)
				keepDeadLetterProperties(&msg, &in.d)
				msg.Headers[headerDeadLetteredAt] = at
			}
		}
		if err == nil && !c.dlq() {
			// No DLX is declared for an anonymous consumer (nor for a
			// group with durable-subscription false). A publish to
			// a missing exchange closes the dead-letter lane's channel,
			// which every consumer of the binder shares: what others had
			// in flight on it would be sent again (duplicates), once for
			// each failed message. So it is checked first, on a channel
			// of its own.
			var missing bool
			if missing, err = c.anonDLX.missing(ctx, c.bd.pubMgr, dlx); err == nil && missing {
				cancel()
				log.Error("rabbit: the dead letter of a consumer without a DLQ reached no queue: the dead-letter exchange does not exist (no DLX or DLQ is declared for an anonymous consumer, nor for a group with durable-subscription false: declare the DLX and bind a queue to it with the dead-letter routing key, or set group, with durable-subscription true); the failed message is rejected, and the broker's dead-lettering, to the same missing DLX, DROPS it",
					"consumer", c.noDLQ(), "dead_letter_routing_key", rk, "cause", logtext.Error(cause))
				c.dlCounts.Dropped() // after the log line: what the count shows is logged
				return dlDropped
			}
		}
		if err == nil {
			err = c.bd.dlPub.publish(ctx, dlx, rk, true, msg)
		}
		cancel()
		if err == nil {
			c.dlDown.Clear()
			if wasHeld {
				log.Info("rabbit: dead letter sent after it was held; the failed message is acknowledged", "attempts", attempt, "held_for", time.Since(heldSince).Round(time.Millisecond))
			}
			return dlSent
		}
		if isPermanent(err) {
			log.Error("rabbit: the broker refused the dead letter; the failed message is rejected, and the broker dead-letters it as it is (x-death, no x-exception-* headers) through the queue's x-dead-letter-exchange", "error", err, "cause", logtext.Error(cause))
			c.dlCounts.Dropped() // after the log line: what the count shows is logged
			return dlDropped
		}
		if isRefused(err) {
			return r.dlRefused(log, fmt.Errorf("the broker refuses publishing to %s: %w", dlx, err), cause)
		}
		if !c.dlq() && (exchangeNotFound(err, dlx) || errors.Is(err, ErrUnroutable)) {
			// No DLQ of its own (anonymous, or durable-subscription
			// false): nothing to declare again.
			if exchangeNotFound(err, dlx) {
				c.anonDLX.gone() // deleted since it was checked
			}
			log.Error("rabbit: the dead letter of a consumer without a DLQ reached no queue (no DLQ is declared for an anonymous consumer, nor for a group with durable-subscription false: bind one to the DLX with the dead-letter routing key, or set group, with durable-subscription true); the failed message is rejected, and the broker's dead-lettering, to the same DLX and key, DROPS it",
				"consumer", c.noDLQ(), "dead_letter_routing_key", rk, "error", err, "cause", logtext.Error(cause))
			c.dlCounts.Dropped() // after the log line: what the count shows is logged
			return dlDropped
		}
		if !redeclared && (exchangeNotFound(err, dlx) || errors.Is(err, ErrUnroutable)) {
			// DLX or the DLQ was deleted: declare them again, once.
			redeclared = true
			if derr := r.declareDLQ(); derr != nil {
				if declareRefused(derr) {
					return r.dlRefused(log, fmt.Errorf("%w (publishing: %v), and declaring it again is refused: %w", errDLQGone, err, derr), cause)
				}
				log.Warn("rabbit: declaring the dead-letter exchange and queue again failed", "error", derr)
			}
		}
		if r.loopCtx.Err() != nil {
			log.Warn("rabbit: dead-lettering failed and the consumer is stopping; the failed message is requeued", "attempts", attempt, "error", err)
			return dlLater
		}
		now := time.Now()
		if attempt == 1 {
			heldSince = now
			r.flushAcks() // the acks of handled messages are not held through the hold
			if r.c.PipelineWindow() == 0 && !outside {
				// A pipelined worker's hold ends as a Pause begins
				// (holdWait): Pause waits for that.
				r.holdBegin()
				released = true
			}
		}
		if attempt == dlDownAfter {
			down := fmt.Errorf("the broker does not take the dead letters for DLQ %s (the consumer holds its failed messages, unacknowledged, until it does): %w", dlq, err)
			c.dlDown.Set(down)
		}
		retryIn := back.Delay(attempt)
		args := []any{"attempts", attempt, "retry_in", retryIn.Round(time.Millisecond), "held_for", now.Sub(heldSince).Round(time.Millisecond), "error", err}
		if errors.Is(err, ErrNacked) {
			args = append(args, "reason", "the broker nacked the dead letter: a queue it routes to refuses it (a DLQ at its x-max-length or x-max-length-bytes with x-overflow reject-publish, say)")
		}
		if pacer.Warn(now) {
			log.Warn("rabbit: dead-lettering failed; the consumer holds the failed message, unacknowledged, until the DLQ takes it, retrying the publish with back-off: the handler is not called again for it, and this worker takes no other message meanwhile", args...)
		} else {
			log.Debug("rabbit: dead-lettering failed; holding the failed message, retrying", args...)
		}
		switch r.holdWait(in.s, retryIn) {
		case holdStopping:
			log.Warn("rabbit: the consumer is stopping; the failed message held for its dead letter is requeued", "attempts", attempt, "held_for", time.Since(heldSince).Round(time.Millisecond))
			return dlLater
		case holdPaused:
			log.Warn("rabbit: the consumer is pausing; the failed message held for its dead letter is requeued (a pipelined worker settles in order, and Pause waits for the deliveries behind it): after Resume the handler runs again for it", "attempts", attempt, "held_for", time.Since(heldSince).Round(time.Millisecond))
			return dlLater
		case holdLost:
			log.Warn("rabbit: the consumer channel was lost while the failed message was held for its dead letter; the broker redelivers it", "attempts", attempt, "held_for", time.Since(heldSince).Round(time.Millisecond))
			return dlLost
		}
		wasHeld = true
	}
}

type holdOutcome int

const (
	holdRetry    holdOutcome = iota // the wait is over: publish again
	holdStopping                    // the consumer stops
	holdPaused                      // a pipelined consumer pauses
	holdLost                        // the delivery's channel is gone
)

// holdWait waits d before a held dead letter is published again, or until
// the consumer stops, the delivery's channel s is given up, or, for a
// pipelined worker, a Pause begins.
func (r *run) holdWait(s *chanSession, d time.Duration) holdOutcome {
	var pausing chan struct{} // nil: never ready
	if r.c.PipelineWindow() > 0 {
		r.mu.Lock()
		if r.paused {
			r.mu.Unlock()
			return holdPaused
		}
		pausing = r.pausing
		r.mu.Unlock()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.loopCtx.Done():
		return holdStopping
	case <-s.gone:
		return holdLost
	case <-pausing:
		return holdPaused
	}
	if r.lostSession(s) {
		return holdLost
	}
	return holdRetry
}

// dlxCheckEvery is how long an anonymous consumer trusts what it found
// about its DLX: a DLX declared later is used within this time, and a
// consumer whose DLX is missing checks at most once in it, however many
// messages fail.
const dlxCheckEvery = 5 * time.Second

// dlxCheck caches whether an anonymous consumer's DLX exists. Checked by
// a passive declare on a channel of its own, whose closure (404 when the
// exchange is missing) disturbs nobody.
type dlxCheck struct {
	mu     sync.Mutex
	at     time.Time // of the last check; zero: never
	absent bool
}

// missing reports whether exchange dlx does not exist, checking again
// when the last check is older than dlxCheckEvery. err is a failure to
// check (no connection): the caller treats it as a failed publish.
func (d *dlxCheck) missing(ctx context.Context, m *connMgr, dlx string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.at.IsZero() && time.Since(d.at) < dlxCheckEvery {
		return d.absent, nil
	}
	found, err := m.passiveExists(ctx, passiveExchange, dlx, false)
	if err != nil {
		return false, fmt.Errorf("checking that the dead-letter exchange %s exists: %w", dlx, err)
	}
	d.at, d.absent = time.Now(), !found
	return d.absent, nil
}

// gone records that the DLX was found missing by a publish.
func (d *dlxCheck) gone() {
	d.mu.Lock()
	d.at, d.absent = time.Now(), true
	d.mu.Unlock()
}

// errDLQGone: the dead-letter exchange or queue is missing.
var errDLQGone = errors.New("the dead-letter exchange or queue is missing")

// dlRefused drops a failed message whose dead letter the broker refuses
// for reasons of the destination (no permission on DLX, a DLX or DLQ that
// cannot be declared again): holding the message would only loop. The
// binding reports itself down until a dead letter succeeds again.
func (r *run) dlRefused(log *slog.Logger, err, cause error) dlResult {
	c := r.c
	c.dlDown.Set(err)
	log.Error("rabbit: dead letters cannot be sent; the failed message is rejected (the broker dead-letters it through the queue's x-dead-letter-exchange if that exchange and its DLQ exist, else it is DROPPED), and the binding reports itself down until a dead letter succeeds", "error", err, "cause", logtext.Error(cause))
	// Counted last: whoever sees the count sees the binding down and the
	// log line (TestDeadLetterDLXCannotBeDeclared reads them in that order).
	c.dlCounts.Dropped()
	return dlDropped
}

// fitDeadLetter fits dl to what the publisher connection (frame_max fm)
// and max-message-size admit: its headers to fm − 20,000 bytes (Spring
// AMQP's rule; half of fm for frames under 40,000), counted as AMQP
// encodes them, and its payload to max-message-size, else dropped.
func (r *run) fitDeadLetter(dl *stream.Envelope, fm int) stream.DeadLetterFit {
	// max-message-size bounds the body; the key travels as a header.
	lim := stream.DeadLetterLimit{HeaderOverhead: headerOverhead, MaxHeaderBytes: dlMaxHeaderBytes(fm), KeyHeader: keyHeader}
	if limit := r.c.bd.s.maxMessageSize; limit > 0 && len(dl.Payload) > limit {
		lim.DropPayload = true
	}
	return stream.FitDeadLetter(dl, lim)
}

// dlMaxHeaderBytes is what a dead letter's headers may take of frame_max
// fm (0: no limit): fm − 20,000 bytes, half of fm for frames under 40,000.
func dlMaxHeaderBytes(fm int) int {
	switch {
	case fm <= 0:
		return 0
	case fm < 2*dlHeadroom:
		return fm / 2
	}
	return fm - dlHeadroom
}

// keepProperties gives msg, a dead letter or a retry's copy of delivery
// d, the AMQP properties of d that an envelope does not carry, as SCSt's
// republished dead letter keeps them (and the broker's dead-lettering):
// content_encoding (a compressed body is unreadable without it),
// correlation_id, reply_to, type, app_id and priority. Not user_id (the
// broker refuses another user's; SCSt's has none) nor expiration (the
// broker drops it when it dead-letters a message too; a dead letter
// keeps it as headerOriginalExpiration: keepDeadLetterProperties).
//
// msg was made from the handler's envelope, which has d's properties as
// Spring AMQP's headers too (withDeliveryHeaders): keepProperties undoes
// that, so that the copy is d again. toPublishing sent no amqp_* header
// and set properties from them: the properties are d's here, its own
// amqp_* headers (another client's) are restored, and a priority header
// that only mirrors d's priority property is dropped.
func keepProperties(msg *amqp.Publishing, d *amqp.Delivery) {
	propertiesOf(d).apply(msg)
	msg.Expiration, msg.UserId = "", ""
	if _, own := d.Headers[priorityHeader]; !own && d.Priority > 0 && msg.Headers[priorityHeader] == strconv.Itoa(int(d.Priority)) {
		delete(msg.Headers, priorityHeader)
	}
	for k, v := range d.Headers {
		if strings.HasPrefix(k, amqpHeaderPrefix) && msg.Headers != nil {
			if _, kept := msg.Headers[k]; !kept {
				msg.Headers[k] = headerString(v) // keepHeaderTypes types it as d had it
			}
		}
	}
}

// keepDeadLetterProperties finishes dead letter msg of delivery d (after
// keepProperties and keepOriginal): a correlation_id that is empty or
// only whitespace is left out, as from SCSt's republished dead letter
// (Spring AMQP's DefaultMessagePropertiesConverter reads one only when
// StringUtils.hasText, by Java's Character.isWhitespace), and d's
// expiration, which the dead letter has not, goes in
// headerOriginalExpiration.
func keepDeadLetterProperties(msg *amqp.Publishing, d *amqp.Delivery) {
	if !javaHasText(msg.CorrelationId) {
		msg.CorrelationId = ""
	}
	if d.Expiration != "" {
		if msg.Headers == nil {
			msg.Headers = amqp.Table{}
		}
		msg.Headers[headerOriginalExpiration] = d.Expiration
	}
}

// javaHasText is Spring's StringUtils.hasText: s has a character that is
// not whitespace as Java's Character.isWhitespace says (Unicode space
// separators but the no-break ones, line and paragraph separators, tab,
// LF, VT, FF, CR and U+001C to U+001F; not U+0085, which Go's
// unicode.IsSpace counts).
func javaHasText(s string) bool {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || (r >= 0x1c && r <= 0x1f):
		case r == 0xa0 || r == 0x2007 || r == 0x202f:
			return true
		case unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp):
		default:
			return true
		}
	}
	return false
}

// keepOriginal gives dead letter msg of delivery d the properties and
// headers d came with where the envelope it was made from changed them,
// as SCSt republishes the received message itself (Spring AMQP's
// Message, its MessageProperties as received, RepublishMessageRecoverer
// adding its x-exception-* and x-original-* headers and
// republishDeliveyMode setting delivery_mode): message_id, timestamp and
// content_type as d had them, none where d had none (no message_id is
// generated: the publisher keeps it empty, keepIDs); the id and
// contentType headers that withDeliveryHeaders made from message_id and
// content_type, and the binding's default content type that toPublishing
// adds, are left out unless d had them as headers itself, and one d had
// goes with its value as received (a quoted "application/json" stays
// quoted).
func keepOriginal(msg *amqp.Publishing, d *amqp.Delivery) {
	msg.MessageId = d.MessageId
	msg.Timestamp = d.Timestamp
	msg.ContentType = d.ContentType
	for _, k := range [...]string{stream.HeaderID, stream.HeaderContentType} {
		if _, kept := msg.Headers[k]; !kept {
			continue // none, or cut to fit
		}
		if v, own := d.Headers[k]; own {
			msg.Headers[k] = v
		} else {
			delete(msg.Headers, k)
		}
	}
}

// properties are the AMQP properties of a message that its envelope does
// not carry and that its dead letter, a retry's copy and a replayed copy
// keep (see keepProperties).
type properties struct {
	contentEncoding, correlationID, replyTo, typ, appID string
	priority                                            uint8
	// asHeaders are the properties (bits in the order of propertyHeaders)
	// that a dead letter read through the DeadLetterStore also has as
	// headers (withPropertyHeaders), which its replay to RabbitMQ sends
	// as the properties only.
	asHeaders uint8
}

// propertyHeaders are the names of the headers under which SCSt's
// RabbitMQ binder gives a handler these properties (Spring AMQP's
// AmqpHeaders.CONTENT_ENCODING, CORRELATION_ID, REPLY_TO, TYPE, APP_ID and
// AmqpMessageHeaderAccessor.PRIORITY), in the order of headerValues.
var propertyHeaders = [...]string{"amqp_contentEncoding", "amqp_correlationId", "amqp_replyTo", "amqp_type", "amqp_appId", "priority"}

// headerValues are p's properties as header text, in the order of
// propertyHeaders; "" for one not set (a priority of 0 too, as SCSt gives
// no priority header for it).
func (p properties) headerValues() [len(propertyHeaders)]string {
	v := [len(propertyHeaders)]string{p.contentEncoding, p.correlationID, p.replyTo, p.typ, p.appID, ""}
	if p.priority > 0 {
		v[5] = strconv.Itoa(int(p.priority))
	}
	return v
}

// withPropertyHeaders adds p's properties to headers h under SCSt's names
// (propertyHeaders), each unless h has a header of that name already
// (the message's own), and returns p with the ones added recorded: a dead
// letter's properties are then seen by streambind dlq show and tail, and
// go with its replay to any binder (a Kafka or NATS destination too), as
// SCSt's headers; a producer of this binder sends them as the properties
// again (dropAddedHeaders).
func (p properties) withPropertyHeaders(h stream.Headers) properties {
	for i, v := range p.headerValues() {
		if v == "" {
			continue
		}
		if _, ok := h[propertyHeaders[i]]; ok {
			continue
		}
		h[propertyHeaders[i]] = v
		p.asHeaders |= 1 << i
	}
	return p
}

// dropAddedHeaders removes from table t the headers withPropertyHeaders
// added for p's properties, each while it still reads as the property (a
// header changed on the way is the sender's, and is sent): the replay
// sends them as the properties, not twice.
func (p properties) dropAddedHeaders(t amqp.Table) {
	if p.asHeaders == 0 {
		return
	}
	for i, v := range p.headerValues() {
		if p.asHeaders&(1<<i) != 0 && t[propertyHeaders[i]] == v {
			delete(t, propertyHeaders[i])
		}
	}
}

// amqpHeaderPrefix starts the names of Spring AMQP's AmqpHeaders, which
// its outbound mapper never sends as AMQP headers: the ones naming a
// property set the property (propertyFromHeader), the others (the
// received ones) are dropped.
const amqpHeaderPrefix = "amqp_"

// priorityHeader is Spring AMQP's AmqpMessageHeaderAccessor.PRIORITY, the
// header of the priority property (not amqp_*: sent as a header too).
const priorityHeader = "priority"

// Spring AMQP's inbound names of the properties that only a live
// delivery gets as headers (withDeliveryHeaders), beside propertyHeaders.
const (
	headerExpiration     = "amqp_expiration"
	headerReceivedUserID = "amqp_receivedUserId"
	headerTimestamp      = "amqp_timestamp"
	headerUserID         = "amqp_userId" // outbound only: inbound it is amqp_receivedUserId
)

// withDeliveryHeaders adds to h, the headers of live delivery d's
// envelope, d's properties that are set as the headers Spring AMQP's
// inbound mapper (SCSt's) gives a handler, each unless d has a header of
// that name itself (the message's own wins, as Spring maps the AMQP
// headers over the properties): propertyHeaders (amqp_contentEncoding,
// amqp_correlationId, amqp_replyTo, amqp_type, amqp_appId, priority),
// amqp_expiration, amqp_receivedUserId and amqp_timestamp (Unix
// milliseconds, as SCSt's Date goes to JSON). A routing-expression on
// headers['amqp_type'] then sees the type, and a function's output
// inherits the ones SCSt maps back to properties (toPublishing). Not
// added: amqp_messageId (the id header has it); the received ones are
// withReceivedHeaders'. Nothing is done, nor allocated, for a message
// without these properties.
func withDeliveryHeaders(h stream.Headers, d *amqp.Delivery) {
	if p := propertiesOf(d); p != (properties{}) {
		p.withPropertyHeaders(h)
	}
	if d.Expiration == "" && d.UserId == "" && d.Timestamp.IsZero() {
		return
	}
	add := func(k, v string) {
		if _, ok := h[k]; !ok && v != "" {
			h[k] = v
		}
	}
	add(headerExpiration, d.Expiration)
	add(headerReceivedUserID, d.UserId)
	if !d.Timestamp.IsZero() {
		add(headerTimestamp, strconv.FormatInt(d.Timestamp.UnixMilli(), 10))
	}
}

// headerConsumerTag is Spring AMQP's AmqpHeaders.CONSUMER_TAG: the tag of
// the subscription that got the delivery (consumer-tag-prefix's
// <prefix>#<n>, else the broker's amq.ctag-*).
const headerConsumerTag = "amqp_consumerTag"

// receivedHeaderCount is how many headers withReceivedHeaders adds at
// most.
const receivedHeaderCount = 5

// withReceivedHeaders adds to h, the headers of a live delivery's
// envelope, how it was received (rc, the delivery's Received) as the
// headers Spring's inbound mapper gives SCSt's handler
// (spring-integration-amqp's DefaultAmqpHeaderMapper): amqp_receivedExchange
// (also "", the default exchange, as Spring's maps a non-null one),
// amqp_receivedRoutingKey (when not empty, as Spring's), amqp_consumerQueue,
// amqp_redelivered ("true" or "false": Spring's Boolean) and
// amqp_consumerTag (when the broker gave one). A header of the first
// three names that the message carries wins over the binder's value, as in
// Spring's mapper, which maps the message's own headers after those
// (AbstractHeaderMapper.toHeaders), and as an expression reads them; the
// binder's amqp_consumerQueue and amqp_consumerTag win over the message's,
// as Spring's mapper adds those last (addConsumerMetadata). No Spring or
// streambind producer sends any of them (their outbound mappers send no
// amqp_* header): only another client's message carries one.
//
// Not added: amqp_deliveryTag (Spring's Long, for a manual basicAck on
// the amqp_channel it gives too: the binder settles every delivery
// itself, so the tag tells a handler nothing it can use, and its text
// would cost an allocation per message), amqp_receivedDeliveryMode and
// amqp_lastInBatch. Nothing is allocated: the strings are the delivery's
// and the run's, and envelopeSize made room for them.
//
// None of them goes on the wire again: a producer of this binder sends
// no amqp_* header (toPublishing), and a dead letter or a retry's copy is
// the original again (keepProperties; the dead letter carries the
// exchange and routing key as x-original-exchange and
// x-original-routingKey, as SCSt's republished one does). An output does
// not inherit them (stream: the amqp_* headers but the properties'), nor
// does another binder's producer get them unless a function returns a
// Message with them.
func withReceivedHeaders(h stream.Headers, rc *stream.Received, consumerTag string) {
	unlessOwn := func(k, v string) {
		if _, own := h[k]; !own {
			h[k] = v
		}
	}
	unlessOwn(stream.HeaderReceivedExchange, rc.Exchange)
	if rc.RoutingKey != "" {
		unlessOwn(stream.HeaderReceivedRoutingKey, rc.RoutingKey)
	}
	h[stream.HeaderConsumerQueue] = rc.Queue
	unlessOwn(stream.HeaderRedelivered, strconv.FormatBool(rc.Redelivered))
	if consumerTag != "" {
		h[headerConsumerTag] = consumerTag
	}
}

// envelopeSize is how many headers live delivery d's envelope has at
// most (fromDelivery's, withDeliveryHeaders', withReceivedHeaders'), so
// that its map is made at that size and never grows: a map of up to 8
// entries is one allocation, and one that grows past 8 as it is filled
// costs more than one made for its size. The id and contentType from
// message_id and content_type, and the key and correlation headers the
// envelope leaves out, are counted only when they are there.
func envelopeSize(d *amqp.Delivery) int {
	n := len(d.Headers) + receivedHeaderCount
	has := func(k string) bool { _, ok := d.Headers[k]; return ok }
	if has(keyHeader) {
		n--
	}
	if has(pubHeader) {
		n--
	}
	if d.ContentType != "" && !has(stream.HeaderContentType) {
		n++
	}
	if d.MessageId != "" && !has(stream.HeaderID) {
		n++
	}
	for _, set := range [...]bool{d.ContentEncoding != "", d.CorrelationId != "", d.ReplyTo != "", d.Type != "",
		d.AppId != "", d.Priority > 0, d.Expiration != "", d.UserId != "", !d.Timestamp.IsZero()} {
		if set {
			n++
		}
	}
	return n
}

// propertyFromHeader sets the property of msg that Spring AMQP's outbound
// mapper sets from a message's header k of value v (SCSt's producer; a
// function's output inherits them from its input): amqp_appId,
// amqp_contentEncoding, amqp_correlationId, amqp_replyTo, amqp_type,
// amqp_expiration, amqp_userId, and priority when it reads as a number
// 0-255 (an Integer in Spring). Not amqp_messageId (the id header gives
// message_id) nor amqp_timestamp, amqp_deliveryMode (the binding's
// delivery-mode applies) or the received ones. It is called for each
// amqp_* header (k, v) and once with priority's.
func propertyFromHeader(msg *amqp.Publishing, k, v string) {
	switch k {
	case propertyHeaders[0]:
		msg.ContentEncoding = shortstr(v)
	case propertyHeaders[1]:
		msg.CorrelationId = shortstr(v)
	case propertyHeaders[2]:
		msg.ReplyTo = shortstr(v)
	case propertyHeaders[3]:
		msg.Type = shortstr(v)
	case propertyHeaders[4]:
		msg.AppId = shortstr(v)
	case priorityHeader:
		if n, err := strconv.ParseUint(v, 10, 8); err == nil {
			msg.Priority = uint8(n)
		}
	case headerExpiration:
		msg.Expiration = expirationOf(v) // producer.refusedProperty checked it
	case headerUserID:
		msg.UserId = shortstr(v)
	}
}

func propertiesOf(d *amqp.Delivery) properties {
	return properties{contentEncoding: d.ContentEncoding, correlationID: d.CorrelationId, replyTo: d.ReplyTo,
		typ: d.Type, appID: d.AppId, priority: d.Priority}
}

func (p properties) apply(msg *amqp.Publishing) {
	msg.ContentEncoding = p.contentEncoding
	msg.CorrelationId = p.correlationID
	msg.ReplyTo = p.replyTo
	msg.Type = p.typ
	msg.AppId = p.appID
	msg.Priority = p.priority
}

// nativeProperties is the key of stream.Envelope.NativeHeaders under
// which a dead letter read through the binder's DeadLetterStore carries
// its properties (a value of type properties), so that a producer of the
// binder sends its replay with them: a compressed body stays readable
// (content_encoding), a reply still finds its requester (reply_to,
// correlation_id). It names no header: a NUL starts no header name a
// client sends, and typedHeaders skips it.
const nativeProperties = "\x00amqp-properties"

// keepHeaderTypes gives the headers of dead letter msg that are the
// original message's, unchanged, the AMQP types they had there (an
// envelope carries text), as SCSt's republished dead letter keeps them:
// above all the broker's x-death array, in which it counts the message's
// dead-letterings (a DLQ with dlq-ttl and a dead-letter exchange back to
// the queue retries until a count); republished as text, the broker
// started it again at 1 on every pass. adjust returns the value to send
// for header k, whose original value is v (nil: keep the text; dropHeader:
// leave it out). The text
// is kept when the typed headers would encode to more than maxBytes (0:
// no limit), which the fitted text headers met.
func keepHeaderTypes(msg *amqp.Publishing, orig amqp.Table, maxBytes int, adjust func(k string, v any) any) {
	typed, _ := typedHeaders(msg.Headers, orig, adjust) // orig was decoded: every value encodes
	if typed == nil {
		return
	}
	if n, err := tableSize(typed); err != nil || (maxBytes > 0 && n > maxBytes) {
		// The headers go as text, but what adjust left out (dropHeader:
		// a dead letter's x-death of wait queues only) stays out: as
		// text it would be the Go printing of what it was to leave out.
		var kept amqp.Table
		for k := range msg.Headers {
			if _, ok := typed[k]; !ok {
				if kept == nil {
					kept = maps.Clone(msg.Headers)
				}
				delete(kept, k)
			}
		}
		if kept != nil {
			msg.Headers = kept
		}
		return
	}
	msg.Headers = typed
}

// typedHeaders returns headers h with the values of native (a message's
// AMQP header values) in place of the text headers that still read as
// them (headerString; not dropped, cut or changed on the way), each
// passed through adjust when it is set (a nil result keeps the text), or
// nil when it replaced none. bad names the values AMQP cannot encode,
// which keep their text.
func typedHeaders(h amqp.Table, native map[string]any, adjust func(k string, v any) any) (typed amqp.Table, bad []string) {
	for k, v := range native {
		switch v := v.(type) {
		case string:
			// Text already, unless h has it in another type that reads
			// as it (toPublishing's int scst_partition): it goes as
			// text, as it came (an older message's).
			if hv, ok := h[k]; ok {
				if _, text := hv.(string); !text && headerString(hv) == v {
					if typed == nil {
						typed = maps.Clone(h)
					}
					typed[k] = v
				}
			}
			continue
		case properties:
			continue // not a header (nativeProperties)
		}
		if s, ok := h[k].(string); !ok || s != headerString(v) {
			continue
		}
		if adjust != nil {
			if v = adjust(k, v); v == nil {
				continue
			}
			if _, drop := v.(dropHeader); drop {
				if typed == nil {
					typed = maps.Clone(h)
				}
				delete(typed, k)
				continue
			}
		}
		if _, err := fieldSize(v); err != nil {
			bad = append(bad, k)
			continue
		}
		if typed == nil {
			typed = maps.Clone(h)
		}
		typed[k] = v
	}
	return typed, bad
}

// dropHeader, returned by keepHeaderTypes' adjust, leaves the header out.
type dropHeader struct{}

// withoutWaitQueues is keepHeaderTypes' adjust for a dead letter: its
// x-death array without the entries of the consumer's wait queues
// (retry-delays; dropHeader when none is left: not its text, which lists
// the entries left out, a string where x-death's readers expect an
// array). A delivery whose latest x-death
// entry is a wait queue's is a retry (markRetry); a dead letter moved back
// to the queue as it is (a shovel, the management UI's "move messages")
// is not one, and gets every retry again.
func (r *run) withoutWaitQueues(k string, v any) any {
	if k == "x-death" && xDeathCrashesBroker(v) {
		return nil // as text, which the broker replaces (a DLQ with dlq-ttl dead-letters it again)
	}
	xs, ok := v.([]any)
	if k != "x-death" || !ok || len(r.c.spec.Consumer.RetryDelays) == 0 {
		return v
	}
	var kept []any
	for _, x := range xs {
		if t, ok := x.(amqp.Table); ok {
			if q, _ := t["queue"].(string); r.isWaitQueue(q) {
				continue
			}
		}
		kept = append(kept, x)
	}
	if len(kept) == 0 {
		return dropHeader{}
	}
	return kept
}

// declareDLQ declares DLX and the consumer's DLQ again.
func (r *run) declareDLQ() error {
	ctx, cancel := context.WithTimeout(r.ctx, dlPublishTimeout)
	defer cancel()
	return r.c.bd.pubMgr.declare(ctx, r.c.dlqTopology())
}

// ack settles a delivery on the channel it came from, and only while that
// channel is the run's current one: a delivery of a lost channel is
// redelivered on the new one, whose delivery tags restart at 1, so its tag
// must never be used there.
func (r *run) ack(in inbound, how settlement) {
	if in.grp != nil {
		var last bool
		if in, how, last = in.grp.settled(how); !last {
			return // settled with the batch's last part
		}
	}
	in.s.mem.release(in.held)
	r.flushAcks() // settlements go out in delivery order
	if cur := r.session.Load(); cur != in.s || in.s.ch.IsClosed() {
		r.c.staleAcks.Add(1)
		r.c.log.Debug("rabbit: delivery of a lost channel not settled; the broker redelivers it", "queue", r.queue, "tag", in.d.DeliveryTag)
		return
	}
	var err error
	switch how {
	case settleAck:
		err = in.s.ch.Ack(in.d.DeliveryTag, false)
	case settleRequeue:
		err = in.s.ch.Nack(in.d.DeliveryTag, false, true)
	default:
		err = in.s.ch.Nack(in.d.DeliveryTag, false, false)
	}
	if err != nil {
		r.c.log.Warn("rabbit: ack/nack failed; the broker redelivers the message", "queue", r.queue, "error", err)
	}
}

// ackHandled acks a delivery whose handler succeeded. When coalescing,
// the ack is held and sent with the next ones as one multiple ack (one
// frame and one write instead of one per message): when the worker finds
// no delivery waiting, when a quarter of prefetch is held, before any
// other settlement, on Pause and Stop (also a Stop that runs out of time
// on a handler call), before the loop gives up a channel whose consumer
// the broker cancelled, and before a handler call once the held ack is
// ackHold old; a handler that took ackHold or longer has its ack sent at
// once. So an ack is held at most while the worker handles the
// deliveries already waiting, and never past a slow handler's own call; a
// crash or a closed channel meanwhile redelivers the message (at least
// once).
func (r *run) ackHandled(in inbound) {
	if in.grp != nil {
		// A Spring AMQP batch's part: the delivery is settled with its
		// last part, by the outcome of all (splitBatch).
		orig, how, last := in.grp.settled(settleAck)
		if !last {
			return
		}
		if how != settleAck {
			r.ack(orig, how)
			return
		}
		in = orig
	}
	if !r.coalesce {
		r.ack(in, settleAck)
		return
	}
	in.s.mem.release(in.held)
	slow := time.Since(r.handleStart) >= ackHold
	r.ackMu.Lock()
	defer r.ackMu.Unlock()
	if r.pendN > 0 && r.pendS != in.s {
		r.flushAcksLocked()
	}
	if r.pendN == 0 {
		r.pendAt = time.Now()
	}
	r.pendS, r.pendTag = in.s, in.d.DeliveryTag
	r.pendN++
	if r.pendN >= r.c.opts.prefetch/ackHoldDivisor || slow {
		r.flushAcksLocked()
	}
}

// flushAcksHeld sends the held acks when they were held ackHold or longer
// at now (before a handler call); a zero now reads the clock, and only
// when acks are held (the pipeline's per-message check).
func (r *run) flushAcksHeld(now time.Time) {
	r.ackMu.Lock()
	if r.pendN > 0 {
		if now.IsZero() {
			now = time.Now()
		}
		if now.Sub(r.pendAt) >= ackHold {
			r.flushAcksLocked()
		}
	}
	r.ackMu.Unlock()
}

// flushAcks sends the held acks (see ackHandled), or drops them when their
// channel is gone (the broker redelivers those messages).
func (r *run) flushAcks() {
	if !r.coalesce {
		return
	}
	r.ackMu.Lock()
	r.flushAcksLocked()
	r.ackMu.Unlock()
}

// flushAcksLocked is flushAcks with ackMu held.
func (r *run) flushAcksLocked() {
	if r.pendN == 0 {
		return
	}
	s, tag, n := r.pendS, r.pendTag, r.pendN
	r.pendS, r.pendN = nil, 0
	if cur := r.session.Load(); cur != s || s.ch.IsClosed() {
		r.c.staleAcks.Add(int64(n))
		r.c.log.Debug("rabbit: deliveries of a lost channel not settled; the broker redelivers them", "queue", r.queue, "count", n)
		return
	}
	// Every delivery of s up to tag was handed to this worker in order
	// and is settled or held here, so multiple covers exactly the held.
	if f := r.c.beforeAckFlush.Load(); f != nil {
		(*f)()
	}
	if err := s.ch.Ack(tag, n > 1); err != nil {
		r.c.log.Warn("rabbit: ack failed; the broker redelivers the messages", "queue", r.queue, "count", n, "error", err)
	}
}

// consumers is a binding of several destinations.
type consumers []*consumer

func (cs consumers) each(ctx context.Context, f func(*consumer, context.Context) error) error {
	var errs []error
	for _, c := range cs {
		if err := f(c, ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (cs consumers) Start(ctx context.Context) error {
	return cs.each(ctx, func(c *consumer, ctx context.Context) error { return c.Start(ctx) })
}
func (cs consumers) Stop(ctx context.Context) error {
	return cs.each(ctx, func(c *consumer, ctx context.Context) error { return c.Stop(ctx) })
}
func (cs consumers) Pause(ctx context.Context) error {
	return cs.each(ctx, func(c *consumer, ctx context.Context) error { return c.Pause(ctx) })
}
func (cs consumers) Resume(ctx context.Context) error {
	return cs.each(ctx, func(c *consumer, ctx context.Context) error { return c.Resume(ctx) })
}

// Health joins the destinations' consumers' Health.
func (cs consumers) Health(ctx context.Context) error {
	var errs []error
	for _, c := range cs {
		if err := c.Health(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeadLetterStats sums the counters of the destinations' consumers.
func (cs consumers) DeadLetterStats() stream.DeadLetterStats {
	var s stream.DeadLetterStats
	for _, c := range cs {
		x := c.DeadLetterStats()
		s.Truncated += x.Truncated
		s.HeadersOnly += x.HeadersOnly
		s.Dropped += x.Dropped
	}
	return s
}
