package rabbit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/stream"
)

// Binder is the RabbitMQ binder. It holds two connections, made by the
// first bind: one for publishing (producers and dead letters) and one for
// consuming, so that a publisher blocked by a broker alarm never holds up
// the acks of consumers.
type Binder struct {
	name   string
	s      settings
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	pub    *publisher
	// dlPub publishes dead letters and retry-queue copies on a lane of its
	// own (same connection): the broker closes the channel of a refused
	// publish, and on a shared lane that would cut the confirms of the
	// producers' Sends in flight (re-published, possibly to the limit).
	dlPub  *publisher
	pubMgr *connMgr
	sub    *connMgr

	mu        sync.Mutex
	closed    bool
	producers map[*producer]struct{}
	consumers map[*consumer]struct{}
	// boundLogged holds the bound lines logged at INFO (see logBound).
	boundLogged map[string]struct{}
	// dlqBytes is the byte budget of the dead-letter cursors'
	// windows and batches: dlqWindowBytes when 0 (tests set less).
	dlqBytes int
}

var (
	_ stream.Binder        = (*Binder)(nil)
	_ stream.SpecValidator = (*Binder)(nil)
	_ stream.HealthChecker = (*Binder)(nil)
	_ stream.BinderFactory = New
)

// New is the [stream.BinderFactory] of binder type "rabbit". It decodes and
// validates the settings (see the package doc) and does no network I/O.
func New(_ context.Context, bs stream.BinderSettings) (stream.Binder, error) {
	s, err := parseSettings(bs)
	if err != nil {
		return nil, err
	}
	if s.usesTLS() {
		if _, err := s.tlsConfig(); err != nil {
			return nil, fmt.Errorf("rabbit binder %q: %w", bs.Name, err)
		}
	}
	// The core's logger already carries the binder's name.
	log := bs.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, ig := range s.ignored {
		log.Warn("rabbit: setting ignored: another one overrides it", "ignored", ig[0], "used", ig[1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Binder{
		name:        bs.Name,
		s:           s,
		log:         log,
		ctx:         ctx,
		cancel:      cancel,
		producers:   map[*producer]struct{}{},
		consumers:   map[*consumer]struct{}{},
		boundLogged: map[string]struct{}{},
	}
	b.pubMgr = newConnMgr(ctx, s, "publisher", log)
	b.sub = newConnMgr(ctx, s, "consumer", log)
	b.pub = newPublisher(b.pubMgr, s.pubChannels, s.confirmWindow, "sb-"+randomID()+"-", s.maxMessageSize)
	b.dlPub = newPublisher(b.pubMgr, 1, s.confirmWindow, "sb-"+randomID()+"-", s.maxMessageSize)
	b.dlPub.keepIDs = true
	return b, nil
}

// Health is nil while both connections the binder uses are up (a
// connection not needed yet counts as up); it implements
// [stream.HealthChecker] for the readiness probe.
func (b *Binder) Health(context.Context) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return fmt.Errorf("rabbit binder %q: %w", b.name, stream.ErrClosed)
	}
	if err := errors.Join(b.pubMgr.health(), b.sub.health()); err != nil {
		return fmt.Errorf("rabbit binder %q: %w", b.name, err)
	}
	return nil
}

// String describes the binder without credentials.
func (b *Binder) String() string {
	return fmt.Sprintf("rabbit binder %q (%s)", b.name, b.s.redacted(0))
}

// ValidateProducer checks the binding's rabbit producer properties.
func (b *Binder) ValidateProducer(spec stream.ProducerSpec) error {
	o, err := parseProducerOptions(spec.Binding, spec.Extension)
	if err != nil {
		return err
	}
	if err := o.checkReserved(spec.Binding, "producer", spec.Destination); err != nil {
		return err
	}
	key := "stream.bindings." + spec.Binding + ".destination"
	if err := checkNames(key, [2]string{"destination (the exchange)", o.exchange(spec.Destination)}); err != nil {
		return err
	}
	// The queues of required-groups, their DLQs and DLX (the prefix
	// lengthens them all).
	if t, err := producerTopology(spec, o); err == nil {
		if err := t.checkNames(); err != nil {
			return &stream.ConfigError{Path: key, Msg: err.Error()}
		}
	}
	return nil
}

// ValidateConsumer checks the binding's rabbit consumer properties.
func (b *Binder) ValidateConsumer(spec stream.ConsumerSpec) error {
	o, err := parseConsumerOptions(spec.Binding, spec.Consumer.Concurrency, spec.Extension)
	if err != nil {
		return err
	}
	if err := o.checkReserved(spec.Binding, "consumer", spec.Destination); err != nil {
		return err
	}
	return checkConsumerNames(spec, o)
}

// BindProducer declares the destination exchange and the queues of
// spec.Producer.RequiredGroups, then returns the producer.
func (b *Binder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	fail := func(err error) (stream.Producer, error) {
		return nil, fmt.Errorf("rabbit: bind producer %s (destination %q): %w", spec.Binding, spec.Destination, err)
	}
	opts, err := parseProducerOptions(spec.Binding, spec.Extension)
	if err != nil {
		return fail(err)
	}
	if spec.Destination == "" {
		return fail(errors.New("no destination"))
	}
	if err := b.checkOpen(); err != nil {
		return fail(err)
	}
	t, err := producerTopology(spec, opts)
	if err != nil {
		return fail(err)
	}
	if err := t.checkNames(); err != nil {
		return fail(err)
	}
	// The connection is made (or checked) even when there is nothing to
	// declare, so that an unreachable broker is reported at start-up.
	if err := b.declareForBind(ctx, b.pubMgr, t); err != nil {
		return fail(err)
	}
	// The binding's logger carries its name and destination already.
	log := spec.Logger
	if log == nil {
		log = b.log.With("binding", spec.Binding, "destination", spec.Destination)
	}
	p := &producer{bd: b, spec: spec, exchange: opts.exchange(spec.Destination), opts: opts, topo: t, log: log, partitioned: spec.Producer.IsPartitioned(), born: time.Now()}
	if opts.compress {
		if p.gz, err = newGzipper(b.s.compressionLevel); err != nil {
			return fail(err)
		}
	}
	if opts.batching {
		p.batch = newBatcher(p, opts.batchSize, opts.batchBufferLimit, opts.batchTimeout, b.s.maxMessageSize)
	}
	b.logBound(log, "rabbit: producer bound", spec.Binding, t, "routing_key", p.routingKeyDoc())
	if err := b.addProducer(p); err != nil {
		return fail(err)
	}
	return p, nil
}

// addProducer registers a bound producer, or refuses it (an error
// wrapping [stream.ErrClosed]) once the binder is closed, ending its
// batcher's goroutine (run) then: nothing else would.
func (b *Binder) addProducer(p *producer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		if p.batch != nil {
			p.batch.close(p, false)
		}
		return fmt.Errorf("binder %w", stream.ErrClosed)
	}
	b.producers[p] = struct{}{}
	return nil
}

// producerTopology is what a producer binding declares, as SCSt's
// provisioner does: the destination exchange and, for each required group,
// its queue <destination>.<group> bound with binding-routing-key (default
// "#"), or for a partitioned producer one queue <destination>.<group>-<p>
// per partition bound with <binding-routing-key|destination>-<p>, so that
// no partition's messages are lost before its consumer starts; with
// auto-bind-dlq, their x-dead-letter-* arguments and DLQ.
func producerTopology(spec stream.ProducerSpec, opts producerOptions) (topology, error) {
	o := opts.queueOptions
	t := o.destinationTopology(spec.Destination)
	n, partitioned := 1, spec.Producer.IsPartitioned()
	if partitioned {
		if len(spec.Producer.RequiredGroups) > 0 {
			if err := o.checkPartitioned(); err != nil {
				return t, err
			}
		}
		n = max(spec.Producer.PartitionCount, 1)
	}
	for _, g := range spec.Producer.RequiredGroups {
		g = strings.TrimSpace(g)
		if g == "" {
			return t, errors.New("empty name in required-groups")
		}
		base := o.baseQueue(spec.Destination, g)
		for i := range n {
			name := o.queueName(spec.Destination, g, partitioned, i)
			if o.bindQueue { // SCSt declares no queue without bind-queue
				t.queues = append(t.queues, o.groupQueueSpec(spec.Destination, name, opts.autoBindDlq, partitioned, i))
			}
			if opts.autoBindDlq {
				t.withDLQ(o, o.dlqSpec(base, name, false))
			}
		}
	}
	return t, nil
}

// maxBoundLogged bounds the set of bound lines a binder remembers having
// logged at INFO, as [stream.MaxLoggedDestinations] bounds the bridge's.
const maxBoundLogged = stream.MaxLoggedDestinations

// logBound logs what a binding declared: its exchange, queues with their
// binding keys, and dead-letter exchange and queues. The first time this
// binder binds a binding with that topology the line is at INFO; later
// binds of the same binding and topology log it at DEBUG: the bridge binds
// a dynamic destination's producer again at its next send after its cache
// evicted it (quietly), which cycling through more destinations than the
// cache holds does at every send. The set of lines logged grows with the
// bindings and dynamic destinations the app uses, up to maxBoundLogged
// (past that, every bind of a line not in it logs at INFO, like the
// bridge's first-send line past its bound).
func (b *Binder) logBound(log *slog.Logger, msg, binding string, t topology, extra ...any) {
	queues := make([]string, 0, len(t.queues))
	for _, q := range t.queues {
		queues = append(queues, describeQueue(q))
	}
	args := []any{"exchange", t.exchange, "exchange_type", t.exchangeType, "queues", queues}
	if len(t.dlqs) > 0 {
		dlqs := make([]string, 0, len(t.dlqs))
		for _, q := range t.dlqs {
			dlqs = append(dlqs, describeQueue(q))
		}
		args = append(args, "dlx", t.dlx, "dlqs", dlqs)
	}
	args = append(args, extra...)
	key := fmt.Sprintf("%s\x00%s\x00%v", msg, binding, args)
	level := slog.LevelInfo
	b.mu.Lock()
	if _, done := b.boundLogged[key]; done {
		level = slog.LevelDebug
	} else if len(b.boundLogged) < maxBoundLogged {
		b.boundLogged[key] = struct{}{}
	}
	b.mu.Unlock()
	log.Log(context.Background(), level, msg, args...)
}

// describeQueue is "name" or "name <- exchange (key1, key2)" for a log line.
func describeQueue(q queueSpec) string {
	if q.exchange == "" {
		return q.name
	}
	return q.name + " <- " + q.exchange + " (" + strings.Join(q.keys, ", ") + ")"
}

// warnConsumer logs, at WARN, the settings of consumer binding spec (of
// options o) that bind but that the binder does not carry out as SCSt
// does: max-concurrency above concurrency. BindConsumer logs them at bind;
// WarnConsumer logs the same lines for streambind lint, which binds
// nothing, so that both say the same from one condition and one text.
func (b *Binder) warnConsumer(spec stream.ConsumerSpec, o consumerOptions) {
	if o.maxConcurrency > 0 {
		b.log.Warn("rabbit: max-concurrency is not honoured: the binder does not scale its consumers; it runs consumer.concurrency consumers (SCSt's listener container starts with concurrency and adds consumers up to max-concurrency under load): set consumer.concurrency to the number to run",
			"binding", spec.Binding, "property", o.maxConcurrencyKey, "max_concurrency", o.maxConcurrency, "concurrency", max(spec.Consumer.Concurrency, 1))
	}
}

// WarnConsumer logs the WARNs that BindConsumer would log at bind of
// spec's settings (warnConsumer), without binding: streambind lint calls
// it on the bindings it checks, so that it reports them before the app
// runs. Nothing when the settings are invalid (ValidateConsumer says why).
func (b *Binder) WarnConsumer(spec stream.ConsumerSpec) {
	if o, err := parseConsumerOptions(spec.Binding, spec.Consumer.Concurrency, spec.Extension); err == nil {
		b.warnConsumer(spec, o)
	}
}

// BindConsumer declares the destination exchange, the group's queue (and
// DLQ) and returns the consumer, stopped. An anonymous consumer's queue is
// declared by Start. A comma-separated destination binds one consumer per
// destination behind the returned one.
func (b *Binder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	fail := func(err error) (stream.Consumer, error) {
		return nil, fmt.Errorf("rabbit: bind consumer %s (destination %q, group %q): %w", spec.Binding, spec.Destination, spec.Group, err)
	}
	opts, err := parseConsumerOptions(spec.Binding, spec.Consumer.Concurrency, spec.Extension)
	if err != nil {
		return fail(err)
	}
	b.warnConsumer(spec, opts)
	var dests []string
	for _, d := range strings.Split(spec.Destination, ",") {
		if d = strings.TrimSpace(d); d != "" {
			dests = append(dests, d)
		}
	}
	cc := spec.Consumer
	switch {
	case len(dests) == 0:
		return fail(errors.New("no destination"))
	case cc.BatchMode && spec.BatchHandler == nil:
		return fail(errors.New("batch mode without a batch handler"))
	case !cc.BatchMode && spec.Handler == nil:
		return fail(errors.New("no handler"))
	case cc.Partitioned && (cc.InstanceIndex < 0 || cc.InstanceIndex >= max(cc.InstanceCount, 1)):
		return fail(fmt.Errorf("instance-index %d is not in [0, instance-count=%d)", cc.InstanceIndex, max(cc.InstanceCount, 1)))
	case opts.queueNameGroupOnly && spec.Group == "":
		return fail(errors.New("queue-name-group-only needs a group"))
	}
	if cc.Partitioned && spec.Group != "" {
		if err := opts.checkPartitioned(); err != nil {
			return fail(err)
		}
	}
	if err := b.checkOpen(); err != nil {
		return fail(err)
	}
	cs := make(consumers, 0, len(dests))
	for _, d := range dests {
		// The binding's logger carries its name, destination and group
		// already; the consumer's log lines name the queue.
		log := spec.Logger
		if log == nil {
			log = b.log.With("binding", spec.Binding, "destination", d, "group", spec.Group)
		}
		c := &consumer{bd: b, spec: spec, opts: opts, dest: d, conc: max(cc.Concurrency, 1), log: log}
		c.life = lifecycle.New(c.errorf, "previous run still finishing")
		var t topology
		if spec.Group != "" {
			c.queue = opts.queueName(d, spec.Group, cc.Partitioned, cc.InstanceIndex)
			t = c.topology(c.queue)
		} else {
			// The anonymous queue is declared by Start; its name ends in a
			// 12-character id.
			t = c.topology(opts.anonymousQueue(d, idPlaceholder))
		}
		if err := t.checkNames(); err != nil {
			return fail(err)
		}
		if spec.Group == "" {
			t.queues = nil
		}
		if err := c.declareTopology(t, func(t topology) error { return b.declareForBind(ctx, b.sub, t) }); err != nil {
			return fail(err)
		}
		if spec.Group == "" {
			b.logBound(log, "rabbit: consumer bound", spec.Binding, c.topology(opts.anonymousQueue(d, "<id, at start>")))
		} else {
			b.logBound(log, "rabbit: consumer bound", spec.Binding, t, c.dlqLogAttrs()...)
			if cc.DLQ && opts.nonDurable {
				log.Warn("rabbit: consumer.dlq with durable-subscription false: as SCSt, the binder declares no DLQ (nor the DLX) for the group's non-durable queue; a failed message goes to the DLX with the dead-letter routing key, to a queue bound there with it, else it is dropped (one ERROR line per message)",
					"queue", c.queue, "dlx", opts.dlx(), "dead_letter_routing_key", opts.dlRoutingKey(c.queue))
			}
			if cc.Partitioned && opts.bindQueue {
				b.warnUnpartitionedQueue(ctx, log, opts.queueName(d, spec.Group, false, 0))
			}
		}
		if c.opts.requeueRejected && !c.requeuesRejected() {
			log.Warn("rabbit: requeue-rejected has no effect with dlq unless retries are off and republish-to-dlq is false (SCSt's rule): messages that fail go to the DLQ (an anonymous consumer's to the DLX, which has no DLQ for it); to requeue them set max-attempts: 1 and republish-to-dlq: false, without retry-delays",
				"max_attempts", spec.Consumer.MaxAttempts, "retry_delays", len(spec.Consumer.RetryDelays), "republish_to_dlq", c.opts.republishToDlq)
		}
		cs = append(cs, c)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fail(fmt.Errorf("binder %w", stream.ErrClosed))
	}
	for _, c := range cs {
		b.consumers[c] = struct{}{}
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	return cs, nil
}

// declareForBind declares t (possibly nothing) on a fresh channel of m's
// connection, failing without waiting for the broker beyond one connection
// attempt: a broker that cannot be reached gives an error wrapped with
// stream.Unavailable (see connMgr.getForBind), and so does a connection lost
// during the declarations, or a broker that does not answer them before
// ctx ends (untilAnswered); a declaration the broker refuses does not.
func (b *Binder) declareForBind(ctx context.Context, m *connMgr, t topology) error {
	return untilAnswered(ctx, "declare the topology on the "+m.role+" connection", func() error {
		ch, err := m.bindChannel(ctx)
		if err != nil {
			return err
		}
		defer ch.Close()
		if err := t.declare(ch); err != nil {
			if c, _, cerr := m.current(); cerr != nil || c.IsClosed() {
				return stream.Unavailable(err)
			}
			return err
		}
		return nil
	})
}

// warnUnpartitionedQueue logs a WARN when the queue q that the group's
// consumers used before they were partitioned (a deployment with another
// configuration) still exists: it stays bound to the destination, so it
// keeps every message while no partitioned member reads it, growing without
// bound. A passive declaration finds it; any failure (it is missing) is
// ignored.
func (b *Binder) warnUnpartitionedQueue(ctx context.Context, log *slog.Logger, q string) {
	var info amqp.Queue
	if err := untilAnswered(ctx, "look for the unpartitioned queue", func() error {
		ch, err := b.sub.bindChannel(ctx)
		if err != nil {
			return err
		}
		defer ch.Close()
		info, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
		return err
	}); err != nil {
		return
	}
	log.Warn("rabbit: the group's unpartitioned queue exists (from a deployment before the consumer was partitioned): it stays bound to the destination and keeps every message sent to it, and partitioned consumers do not read it; drain it and delete it",
		"queue", q, "messages", info.Messages, "consumers", info.Consumers)
}

// rebindConsumers binds the queues of this binder's running consumers of
// exchange to it again (after a producer declared it again: deleting an
// exchange deletes its bindings). Failures are logged: the consumers
// re-declare their topology when they re-subscribe anyway.
func (b *Binder) rebindConsumers(ctx context.Context, exchange string) {
	b.mu.Lock()
	var cs []*consumer
	for c := range b.consumers {
		if c.opts.exchange(c.dest) == exchange && c.opts.bindQueue {
			cs = append(cs, c)
		}
	}
	b.mu.Unlock()
	for _, c := range cs {
		q := c.runningQueue()
		if q == "" {
			continue
		}
		t := c.topology(q)
		t.dlqs = nil
		if err := c.declare(ctx, t); err != nil {
			c.log.Warn("rabbit: binding the queue again to the re-declared exchange failed", "queue", q, "error", err)
		}
	}
}

func (b *Binder) checkOpen() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("binder %w", stream.ErrClosed)
	}
	return nil
}

func (b *Binder) forget(p *producer) {
	b.mu.Lock()
	delete(b.producers, p)
	b.mu.Unlock()
}

// Close stops the binder's consumers (bounded by ctx), waits for its
// producers' unconfirmed sends, then closes both connections. Idempotent.
func (b *Binder) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	cs := make([]*consumer, 0, len(b.consumers))
	for c := range b.consumers {
		cs = append(cs, c)
	}
	ps := make([]*producer, 0, len(b.producers))
	for p := range b.producers {
		ps = append(ps, p)
	}
	b.mu.Unlock()
	var errs []error
	for _, c := range cs {
		if err := c.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range ps {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	b.cancel()
	for _, m := range []*connMgr{b.pubMgr, b.sub} {
		if err := m.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("rabbit: close binder %q: %w", b.name, errors.Join(errs...))
	}
	return nil
}

// idPlaceholder stands for randomID's 12 characters in an anonymous
// queue's name checked before Start makes it.
const idPlaceholder = "xxxxxxxxxxxx"

func randomID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
