package rabbit

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

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

	sem    chan struct{} // lifecycle lock (capacity 1)
	cur    *run
	last   *run
	closed bool
}

var _ stream.Consumer = (*consumer)(nil)

// topology returns what the consumer declares for queue q.
func (c *consumer) topology(q string) topology {
	cc := c.spec.Consumer
	t := topology{exchangeType: c.opts.exchangeType}
	if c.opts.declareExchange {
		t.exchange = c.dest
	}
	qs := queueSpec{name: q, durable: true}
	dlqKey := ""
	if c.spec.Group != "" && cc.DLQ {
		dlqKey = c.dest + "." + c.spec.Group
		t.dlq = dlqSpec(c.dest, c.spec.Group)
	}
	qs.args = c.opts.queueOptions.args(dlqKey)
	if c.spec.Group == "" {
		qs.durable, qs.exclusive, qs.autoDelete = false, true, true
	}
	if c.opts.bindQueue {
		qs.exchange = c.dest
		if cc.Partitioned {
			qs.keys = []string{partitionKey(c.dest, cc.InstanceIndex)}
		} else {
			qs.keys = []string{c.opts.bindingRoutingKey}
		}
	}
	t.queues = []queueSpec{qs}
	return t
}

// declareOn declares t on a fresh channel of the consumer connection.
func (c *consumer) declare(ctx context.Context, t topology) error {
	ch, _, err := c.bd.sub.channel(ctx)
	if err != nil {
		return err
	}
	defer ch.Close()
	return t.declare(ch)
}

func (c *consumer) errorf(op string, err error) error {
	return fmt.Errorf("rabbit: %s consumer %s (destination %q, group %q): %w", op, c.spec.Binding, c.dest, c.spec.Group, err)
}

func (c *consumer) lock(ctx context.Context, op string) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return c.errorf(op, ctx.Err())
	}
}

func (c *consumer) unlock() { <-c.sem }

// Start subscribes (declaring the topology again) and begins delivery.
func (c *consumer) Start(ctx context.Context) error {
	if err := c.lock(ctx, "start"); err != nil {
		return err
	}
	defer c.unlock()
	if c.closed {
		return c.errorf("start", stream.ErrClosed)
	}
	if c.cur != nil {
		return nil
	}
	if l := c.last; l != nil {
		select {
		case <-l.done:
		case <-ctx.Done():
			return c.errorf("start", fmt.Errorf("previous run still finishing: %w", ctx.Err()))
		}
	}
	q := c.queue
	if q == "" {
		q = c.dest + ".anonymous." + randomID()
	}
	r := newRun(c, q)
	s, deliveries, err := r.subscribe(ctx)
	if err != nil {
		r.loopCancel()
		r.cancel()
		return c.errorf("start", err)
	}
	r.wg.Add(c.conc)
	for w := range c.conc {
		go r.worker(w)
	}
	go r.loop(s, deliveries)
	c.cur, c.last = r, r
	return nil
}

// Stop stops intake, waits (bounded by ctx) for in-flight handler calls to
// finish and be acknowledged, then closes the channel, so that the broker
// requeues whatever was prefetched and not handled.
func (c *consumer) Stop(ctx context.Context) error {
	if err := c.lock(ctx, "stop"); err != nil {
		return err
	}
	defer c.unlock()
	return c.stopLocked(ctx)
}

func (c *consumer) stopLocked(ctx context.Context) error {
	r := c.cur
	if r == nil {
		r = c.last
		if r == nil {
			return nil
		}
	} else {
		c.cur = nil
		r.stop()
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
	}
	r.cancel() // handlers see a cancelled ctx; their messages are Nak'ed
	return c.errorf("stop", fmt.Errorf("handlers still running: %w", ctx.Err()))
}

// Pause stops handing messages to the handler and waits (bounded by ctx)
// for the calls in flight; the subscription stays (prefetched messages wait
// in the client, unacknowledged).
func (c *consumer) Pause(ctx context.Context) error {
	if err := c.lock(ctx, "pause"); err != nil {
		return err
	}
	defer c.unlock()
	if c.cur == nil {
		return nil
	}
	return c.cur.pause(ctx)
}

// Resume undoes Pause.
func (c *consumer) Resume(ctx context.Context) error {
	if err := c.lock(ctx, "resume"); err != nil {
		return err
	}
	defer c.unlock()
	if c.cur != nil {
		c.cur.resume()
	}
	return nil
}

func (c *consumer) close(ctx context.Context) error {
	if err := c.lock(ctx, "close"); err != nil {
		return err
	}
	defer c.unlock()
	c.closed = true
	return c.stopLocked(ctx)
}

// chanSession is one consuming channel; deliveries remember theirs so that
// an ack never reaches a newer channel (delivery tags restart per channel).
type chanSession struct {
	ch  *amqp.Channel
	gen uint64
	tag string
}

type inbound struct {
	d amqp.Delivery
	s *chanSession
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
	workers []chan inbound
	rr      atomic.Uint32
	wg      sync.WaitGroup
	done    chan struct{}

	mu      sync.Mutex
	paused  bool
	resumed chan struct{} // closed when not paused
	active  int
	idle    chan struct{} // signalled when active drops to 0
}

func newRun(c *consumer, q string) *run {
	r := &run{c: c, queue: q, done: make(chan struct{}), resumed: make(chan struct{}), idle: make(chan struct{}, 1)}
	close(r.resumed)
	r.ctx, r.cancel = context.WithCancel(c.bd.ctx)
	r.loopCtx, r.loopCancel = context.WithCancel(c.bd.ctx)
	r.workers = make([]chan inbound, c.conc)
	for i := range r.workers {
		r.workers[i] = make(chan inbound, c.opts.prefetch)
	}
	return r
}

// subscribe opens a channel, sets the prefetch, declares the topology and
// starts consuming.
func (r *run) subscribe(ctx context.Context) (*chanSession, <-chan amqp.Delivery, error) {
	c := r.c
	ch, gen, err := c.bd.sub.channel(ctx)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*chanSession, <-chan amqp.Delivery, error) {
		_ = ch.Close()
		return nil, nil, err
	}
	if err := ch.Qos(c.opts.prefetch, 0, false); err != nil {
		return fail(fmt.Errorf("set prefetch: %w", err))
	}
	if err := c.topology(r.queue).declare(ch); err != nil {
		return fail(err)
	}
	tag := "streambind-" + c.spec.Binding + "-" + randomID()
	ds, err := ch.Consume(r.queue, tag, false, false, false, false, nil)
	if err != nil {
		return fail(fmt.Errorf("consume queue %q: %w", r.queue, err))
	}
	s := &chanSession{ch: ch, gen: gen, tag: tag}
	r.session.Store(s)
	return s, ds, nil
}

// loop dispatches deliveries to the workers and re-subscribes after a lost
// channel or connection until stop.
func (r *run) loop(s *chanSession, ds <-chan amqp.Delivery) {
	defer r.finish()
	log := r.c.log
	backoff := r.c.bd.s.reconnectInit
	for {
		r.dispatch(s, ds)
		if r.loopCtx.Err() != nil {
			return
		}
		// The deliveries ended: the channel died, or the broker cancelled
		// the consumer (queue deleted, node down) and left the channel
		// open. Close it, so that its unacked deliveries are requeued and
		// the late acks of its workers are dropped as stale, not leaked.
		r.session.Store(nil)
		_ = s.ch.Close()
		log.Warn("rabbit: consumer channel lost; re-subscribing", "queue", r.queue)
		for {
			var err error
			s, ds, err = r.subscribe(r.loopCtx)
			if err == nil {
				log.Info("rabbit: consumer re-subscribed", "queue", r.queue, "generation", s.gen)
				backoff = r.c.bd.s.reconnectInit
				break
			}
			if r.loopCtx.Err() != nil {
				return
			}
			log.Warn("rabbit: re-subscribe failed; retrying", "queue", r.queue, "backoff", backoff, "error", err)
			if !sleepCtx(r.loopCtx, jitter(backoff)) {
				return
			}
			backoff = min(backoff*2, r.c.bd.s.reconnectMax)
		}
	}
}

func (r *run) dispatch(s *chanSession, ds <-chan amqp.Delivery) {
	for {
		select {
		case d, ok := <-ds:
			if !ok {
				return
			}
			w := r.route(&d)
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
	}
	r.mu.Unlock()
}

// finish waits for the workers, then closes the channel: the broker
// requeues what is unacknowledged.
func (r *run) finish() {
	r.wg.Wait()
	if s := r.session.Load(); s != nil {
		_ = s.ch.Cancel(s.tag, false)
		_ = s.ch.Close()
	}
	r.cancel()
	close(r.done)
}

func (r *run) pause(ctx context.Context) error {
	r.mu.Lock()
	if !r.paused {
		r.paused = true
		r.resumed = make(chan struct{})
	}
	for r.active > 0 {
		r.mu.Unlock()
		select {
		case <-r.idle:
		case <-ctx.Done():
			return r.c.errorf("pause", fmt.Errorf("handlers still running: %w", ctx.Err()))
		}
		r.mu.Lock()
	}
	r.mu.Unlock()
	return nil
}

func (r *run) resume() {
	r.mu.Lock()
	if r.paused {
		r.paused = false
		close(r.resumed)
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
	r.active--
	if r.active == 0 {
		select {
		case r.idle <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
}

func (r *run) worker(w int) {
	defer r.wg.Done()
	q := r.workers[w]
	batch := r.c.spec.Consumer.BatchMode
	for {
		var in inbound
		select {
		case in = <-q:
		case <-r.loopCtx.Done():
			return
		}
		if in.s.ch.IsClosed() {
			continue // redelivered on the new channel
		}
		if !r.enter() {
			return
		}
		if batch {
			ins := []inbound{in}
		more:
			for len(ins) < r.c.opts.batchSize {
				select {
				case x := <-q:
					if !x.s.ch.IsClosed() {
						ins = append(ins, x)
					}
				default:
					break more
				}
			}
			r.handleBatch(ins)
		} else {
			r.handle(in)
		}
		r.exit()
	}
}

func (r *run) handle(in inbound) {
	env := fromDelivery(&in.d)
	err := r.call(func() error { return r.c.spec.Handler(r.ctx, env) })
	r.settle(in, env, err)
}

func (r *run) handleBatch(ins []inbound) {
	envs := make([]stream.Envelope, len(ins))
	for i := range ins {
		envs[i] = fromDelivery(&ins[i].d)
	}
	err := r.call(func() error { return r.c.spec.BatchHandler(r.ctx, envs) })
	for i := range ins {
		r.settle(ins[i], envs[i], err)
	}
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
// err (see the package doc).
func (r *run) settle(in inbound, env stream.Envelope, err error) {
	c := r.c
	switch {
	case err == nil:
		r.ack(in, func(ch *amqp.Channel) error { return ch.Ack(in.d.DeliveryTag, false) })
	case errors.Is(err, stream.ErrNak) || r.ctx.Err() != nil:
		r.ack(in, func(ch *amqp.Channel) error { return ch.Nack(in.d.DeliveryTag, false, true) })
	case c.opts.requeueRejected:
		r.ack(in, func(ch *amqp.Channel) error { return ch.Nack(in.d.DeliveryTag, false, true) })
	case c.spec.Consumer.DLQ && c.spec.Group != "":
		if derr := r.deadLetter(in, env, err); derr != nil {
			c.log.Error("rabbit: dead-lettering failed; message requeued", "queue", r.queue, "error", derr)
			r.ack(in, func(ch *amqp.Channel) error { return ch.Nack(in.d.DeliveryTag, false, true) })
			return
		}
		r.ack(in, func(ch *amqp.Channel) error { return ch.Ack(in.d.DeliveryTag, false) })
	default:
		c.log.Debug("rabbit: failed message dropped (no dlq)", "queue", r.queue, "error", err)
		r.ack(in, func(ch *amqp.Channel) error { return ch.Nack(in.d.DeliveryTag, false, false) })
	}
}

// deadLetter publishes the message to DLX with routing key
// <destination>.<group> and the x-exception-* and x-original-* headers, and
// waits for the broker's confirm.
func (r *run) deadLetter(in inbound, env stream.Envelope, cause error) error {
	c := r.c
	h := stream.DeadLetterHeaders(env.Headers, cause)
	h[stream.HeaderOriginalExchange] = in.d.Exchange
	h[stream.HeaderOriginalRoutingKey] = in.d.RoutingKey
	dl := stream.Envelope{Payload: env.Payload, Headers: h, Key: env.Key}
	msg := toPublishing(dl, c.spec.ContentType)
	msg.MessageId = in.d.MessageId
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	return c.bd.pub.publish(ctx, DLXName, c.dest+"."+c.spec.Group, true, msg)
}

// ack settles a delivery on the channel it came from, and only while that
// channel is the run's current one: a delivery of a lost channel is
// redelivered on the new one, whose delivery tags restart at 1, so its tag
// must never be used there.
func (r *run) ack(in inbound, f func(*amqp.Channel) error) {
	if cur := r.session.Load(); cur != in.s || in.s.ch.IsClosed() {
		r.c.staleAcks.Add(1)
		r.c.log.Debug("rabbit: delivery of a lost channel not settled; the broker redelivers it", "queue", r.queue, "tag", in.d.DeliveryTag)
		return
	}
	if err := f(in.s.ch); err != nil {
		r.c.log.Warn("rabbit: ack/nack failed; the broker redelivers the message", "queue", r.queue, "error", err)
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
