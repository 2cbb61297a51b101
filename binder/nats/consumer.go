package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/internal/batchprefix"
	"github.com/streambind/streambind/binder/internal/binding"
	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/internal/dlcount"
	"github.com/streambind/streambind/binder/internal/dlhold"
	"github.com/streambind/streambind/binder/internal/lagread"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/binder/internal/replaygroup"
	"github.com/streambind/streambind/stream"
)

// pullExpiry is how long one pull request of a consumer waits at the
// server.
const pullExpiry = 10 * time.Second

// pullHeartbeat is how often the server sends an idle heartbeat for a pull
// request it holds; after two missed, nats.go pulls anew and reports
// ErrNoHeartbeat (see checkPull). So a pull left with no request at the
// server goes on within about 2s, not 10s (nats.go's default heartbeat
// is half the expiry): nats.go skips its next pull when a message arrives while it
// is still sending the previous one, and when that one's messages all
// arrive meanwhile nothing pulls again — the member sat idle for 10s with
// messages waiting (TestStoppedConsumerHandsBack under load: the server
// had served every request and held none, 6 to 24 messages pending). A
// consumer that the server lost (deleted, or gone with a restart) is
// noticed as soon.
const pullHeartbeat = time.Second

// consumer is a consumer binding of one destination for one group.
type consumer struct {
	// lag is Lag's reader of the group's backlog (lag.go).
	lag  lagread.Lazy
	bd   *Binder
	conn *connection
	spec stream.ConsumerSpec
	cs   consumerSettings
	dest string
	ref  *streamRef
	cfg  jetstream.ConsumerConfig // the durable's, or the template of an ephemeral one
	// advice says what to do when cfg filters several subjects on a
	// server that cannot (see ensureConsumer).
	advice string
	group  string // "" for anonymous
	log    *slog.Logger
	conc   int

	// created is the creation time (unix nanoseconds) of the stream as
	// the binding last saw it: a run starts with it (run.created), and
	// Start reads a stream made again since from its start.
	created atomic.Int64
	// durCreated is the creation time (unix nanoseconds) of the group's
	// durable consumer as the binding last saw it: a Start that finds it
	// so needs no look at the stream (see openKnown).
	durCreated atomic.Int64

	dlq        bool
	dlqSubject string
	dlqRef     atomic.Pointer[streamRef]

	// Health (readiness, [stream.BindingHealthChecker]): nil, or why the binding cannot consume (its JetStream
	// consumer is gone and cannot be made again).
	binding.State // SetHealth; read by Health
	// dlDown is why dead letters cannot be sent (a held one failed
	// dlq-attempts times: holdDeadLetter); clear once one goes.
	dlDown dlhold.Down
	stats  dlcount.Counts

	// timing is the ack-wait and max-deliver of the JetStream consumer as
	// the server has them, which every timing of the binding follows: a
	// group's durable is shared, and a member of a later version (a
	// rolling deployment) may have changed them since this one bound.
	timing timing

	life *lifecycle.Lifecycle // Start, Stop, Pause, Resume, close

	// beforeDrain, when set (tests only), runs when a pull ends, just
	// before it is drained.
	beforeDrain func()
}

// timing is what a consumer binding times its acknowledgements by (see
// consumer.timing). Atomics: read on every message's path.
type timing struct {
	ackWait    atomic.Int64 // nanoseconds
	maxDeliver atomic.Int64 // <= 0: unlimited
	// announced is a lowered ack-wait that another member's bind
	// announced before it updated the durable (see announceAckWait); it
	// holds, over what the server still says, until the server has it or
	// announcedUntil (monoNow) passed.
	announced, announcedUntil atomic.Int64
}

// configRefresh is how often a running member of a group reads its
// durable consumer's configuration from the server (see watchConsumer).
const configRefresh = 5 * time.Second

// announceHold bounds how long a lowered ack-wait that another member's
// bind announced holds while the server does not have it yet: that bind
// updates the durable right after its announcement, or failed to.
const announceHold = 30 * time.Second

// ackWait is the consumer's ack-wait as the server has it.
func (c *consumer) ackWait() time.Duration { return time.Duration(c.timing.ackWait.Load()) }

// maxDeliver is the consumer's max-deliver as the server has it; <= 0:
// unlimited.
func (c *consumer) maxDeliver() int64 { return c.timing.maxDeliver.Load() }

// serverAckWait is the ack-wait of cfg, a consumer's configuration as the
// server has it (JetStream's default when unset), or the lowered one
// another member announced while that holds (see timing.announced).
func (c *consumer) serverAckWait(cfg jetstream.ConsumerConfig) time.Duration {
	d := cfg.AckWait
	if d <= 0 {
		d = 30 * time.Second // JetStream's default
	}
	if a := time.Duration(c.timing.announced.Load()); a > 0 {
		if a >= d || monoNow() >= c.timing.announcedUntil.Load() {
			c.timing.announced.Store(0) // the server has it, or it failed
		} else {
			d = a
		}
	}
	return d
}

// setTiming takes the timing of cfg (the consumer's configuration as the
// server has it) while no run goes on.
func (c *consumer) setTiming(cfg jetstream.ConsumerConfig) {
	c.timing.ackWait.Store(int64(c.serverAckWait(cfg)))
	c.timing.maxDeliver.Store(int64(cfg.MaxDeliver))
}

var (
	_ stream.Consumer             = (*consumer)(nil)
	_ stream.BindingHealthChecker = (*consumer)(nil)
	_ stream.DeadLetterReporter   = (*consumer)(nil)
)

// partitionsOf returns the partitions instance index of count reads: those
// p < partitions with p % count == index.
func partitionsOf(index, count, partitions int) []int {
	var out []int
	for p := index; p < partitions; p += max(count, 1) {
		out = append(out, p)
	}
	return out
}

func (bd *Binder) newConsumer(ctx context.Context, conn *connection, spec stream.ConsumerSpec, cs consumerSettings, dest string) (*consumer, error) {
	group := spec.Group
	lg := group
	if lg == "" {
		lg = "anonymous"
	}
	log := spec.Logger // the core's carries the binding's attributes
	if log == nil {
		log = bd.log.With("binding", spec.Binding, "destination", dest, "group", lg)
	}
	c := &consumer{
		bd:    bd,
		conn:  conn,
		spec:  spec,
		cs:    cs,
		dest:  dest,
		group: group,
		log:   log,
		conc:  max(spec.Consumer.Concurrency, 1),
	}
	c.life = lifecycle.New(c.errorf, "the previous run's handlers are still running")
	// Not the cached stream (a producer's lookup): it may have been
	// deleted since, or made again, and the consumer's durable is made on
	// it here (a stream gone failed the bind for good).
	bd.forgetStream(dest)
	// A dead-letters-of reader's destination is a dead-letter subject: its
	// stream is a dead-letter stream, made (when the reader binds first)
	// and checked as the dead-lettering binding does, so that its group's
	// acknowledgements leave the dead letters to streambind dlq.
	ref, err := bd.ensureStreamOf(ctx, conn, dest, spec.Consumer.DeadLettersOf != "")
	if err != nil {
		return nil, err
	}
	c.ref = ref
	c.created.Store(ref.created.UnixNano())
	var parts []int
	instance := -1
	readBelow := 0 // a partitioned consumer's partition-count
	// partitioned applies to a named group only: an anonymous consumer's
	// ephemeral consumer filters no partition and reads every partition's
	// subject and the destination's own, as in SCSt (the core logs a WARN
	// at bind).
	if cc := spec.Consumer; cc.Partitioned && group != "" {
		count := max(cc.InstanceCount, 1)
		pc := cs.partitionCount
		if pc == 0 {
			pc = count
		}
		parts = partitionsOf(cc.InstanceIndex, count, pc)
		if len(parts) == 0 {
			return nil, fmt.Errorf("instance-index %d reads no partition of partition-count %d", cc.InstanceIndex, pc)
		}
		if !ref.captures(dest + ".0") {
			return nil, fmt.Errorf("stream %s does not capture the partition subjects %s.<n> (its subjects: %s)", ref.name, dest, strings.Join(ref.subjects, ", "))
		}
		instance = cc.InstanceIndex
		c.advice = partitionAdvice(cc.InstanceIndex, count, pc, parts)
		readBelow = pc
	} else {
		c.advice = sharedStreamAdvice(dest, ref)
	}
	if group != "" {
		if c.cfg, err = durableConfig(dest, ref, group, instance, parts, cs); err != nil {
			return nil, err
		}
		jc, err := bd.ensureConsumer(ctx, conn, ref, c.cfg, c.advice)
		if err != nil {
			return nil, err
		}
		c.setTiming(jc.CachedInfo().Config)
		c.durCreated.Store(jc.CachedInfo().Created.UnixNano())
		bd.warnOtherShape(ctx, conn, ref, dest, group, instance >= 0, jc.CachedInfo(), log)
	} else {
		c.cfg = jetstream.ConsumerConfig{
			Description:       fmt.Sprintf("streambind anonymous consumer of %s (binding %s)", dest, spec.Binding),
			AckPolicy:         jetstream.AckExplicitPolicy,
			AckWait:           cs.ackWait,
			MaxDeliver:        cs.maxDeliver,
			MaxAckPending:     cs.maxAckPending,
			DeliverPolicy:     jetstream.DeliverNewPolicy,
			InactiveThreshold: cs.inactiveThreshold,
		}
		if cs.startOffset == "earliest" {
			c.cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		}
		setFilter(&c.cfg, dest, ref, parts)
		c.setTiming(c.cfg) // its own: no other member changes it
		if len(c.cfg.FilterSubjects) > 1 && !multiFilter(conn.nc) {
			// Its ephemeral consumer is made by Start: fail the bind
			// instead, as for a group.
			return nil, filtersError(conn.nc, ref, c.cfg, c.advice)
		}
	}
	if spec.Consumer.DLQ && group != "" {
		c.dlq = true
		c.dlqSubject = cs.dlqName
		if c.dlqSubject == "" {
			c.dlqSubject = stream.DLQName(dest, group)
		}
		dref, err := bd.ensureDeadLetterStream(ctx, conn, c.dlqSubject)
		if err != nil {
			return nil, fmt.Errorf("dead-letter destination: %w", err)
		}
		c.dlqRef.Store(dref)
	}
	if readBelow > 0 {
		bd.warnPartitionsBeyond(ctx, conn, ref, dest, readBelow, log)
	}
	return c, nil
}

// DeadLetterStats implements [stream.DeadLetterReporter].
func (c *consumer) DeadLetterStats() stream.DeadLetterStats {
	return c.stats.Stats()
}

// Health is nil unless the binding cannot consume (binding.State) or a
// failed message is held because the dead-letter stream does not take
// its dead letter (dlDown, until a dead letter goes). It implements
// [stream.BindingHealthChecker].
func (c *consumer) Health(ctx context.Context) error {
	err := c.State.Health(ctx)
	if e := c.dlDown.Health(fmt.Sprintf("nats: consumer %s (destination %q, group %q)", c.spec.Binding, c.dest, c.spec.Group)); e != nil {
		err = errors.Join(err, e)
	}
	return err
}

func (c *consumer) errorf(op string, err error) error {
	return c.bd.wrap(err, "nats: %s consumer %s (destination %q, group %q)", op, c.spec.Binding, c.dest, c.group)
}

// Start opens the JetStream consumer (an anonymous consumer's ephemeral
// one is made here) and begins delivery.
func (c *consumer) Start(ctx context.Context) error {
	return c.life.Start(ctx, c.startRun)
}

// startRun opens the JetStream consumer and starts a run's intake and
// keeper.
func (c *consumer) startRun(ctx context.Context) (lifecycle.Run, error) {
	r := c.newRun()
	jc, err := r.openKnown(ctx)
	if err == nil && jc == nil {
		var from uint64
		if from, err = r.checkStream(ctx); err == nil {
			jc, err = r.open(ctx, from)
		}
	}
	if err != nil {
		r.pool.Stop(context.Background())
		return nil, err
	}
	r.jc.Store(&jc)
	r.setJCCreated(jc.CachedInfo().Created.UnixNano())
	if c.group != "" {
		c.setTiming(jc.CachedInfo().Config) // another member may have changed it since the bind
	}
	if c.dlq && c.maxDeliver() > 0 {
		r.watchMaxDeliveries()
	}
	if r.workDone != nil {
		go r.work()
		go func() {
			<-r.intakeDone
			r.shutQueue()
		}()
	}
	// From here on the keeper ticks (see receivedAt); opening may have
	// taken longer than ack-wait (a server still starting).
	r.alive.Store(monoNow())
	if c.group != "" {
		r.watchNotices()
		go r.watchConsumer()
	}
	go r.intake()
	go r.keeper()
	return r, nil
}

// Stop ends intake, gives back (Nak, no delay) what was received and not
// handled, so that another member of the group gets it at once, waits
// (bounded by ctx) for the handler calls in flight and settles them; an
// anonymous consumer's ephemeral JetStream consumer is deleted.
func (c *consumer) Stop(ctx context.Context) error { return c.life.Stop(ctx) }

// Pause stops intake (what was received stays with the binding, kept from
// redelivery with in-progress acks) and waits, bounded by ctx, for the
// handler calls in flight.
func (c *consumer) Pause(ctx context.Context) error { return c.life.Pause(ctx) }

// Resume undoes Pause.
func (c *consumer) Resume(ctx context.Context) error { return c.life.Resume(ctx) }

func (c *consumer) close(ctx context.Context) error { return c.life.Close(ctx) }

// held is a received message from its receipt until it is settled.
type held struct {
	msg      jetstream.Msg
	env      stream.Envelope
	subject  string
	seq      uint64 // stream sequence
	n        uint64 // deliveries so far, this one included
	ts       time.Time
	created  int64        // creation time (unix nanoseconds) of the stream it was read from: see run.stale
	touched  atomic.Int64 // keeper tick (run.ticks) of receipt or the last in-progress ack
	kept     atomic.Int64 // monotonic time (monoNow) of the same: see run.lapsed
	gaveBack bool         // settled by a Nak (or left unacknowledged): see run.naked

	prev, next *held // in run.held while tracked (run.mu)
}

// heldList is the messages a run holds: an intrusive list, which costs no
// allocation or hashing per message (a map did).
type heldList struct {
	root held // sentinel
	n    int
}

func (l *heldList) push(h *held) {
	if l.root.next == nil {
		l.root.next, l.root.prev = &l.root, &l.root
	}
	h.prev, h.next = l.root.prev, &l.root
	h.prev.next, l.root.prev = h, h
	l.n++
}

// remove takes h out; false (a no-op) when h is not in the list.
func (l *heldList) remove(h *held) bool {
	if h.next == nil {
		return false
	}
	h.prev.next, h.next.prev = h.next, h.prev
	h.prev, h.next = nil, nil
	l.n--
	return true
}

// each calls f for every message in the list.
func (l *heldList) each(f func(*held)) {
	if l.root.next == nil {
		return
	}
	for h := l.root.next; h != &l.root; h = h.next {
		f(h)
	}
}

// run is one Start..Stop of a consumer.
type run struct {
	c    *consumer
	pool *dispatch.Pool[*held]
	jc   atomic.Pointer[jetstream.Consumer]

	intakeCtx    context.Context // ends intake for good (Stop)
	intakeCancel context.CancelFunc
	intakeDone   chan struct{}
	keeperDone   chan struct{}
	retime       chan struct{} // capacity 1: the consumer's ack-wait changed (see setAckWait)
	timingMu     sync.Mutex    // serialises setAckWait
	notices      *natsgo.Subscription
	wake         chan struct{} // capacity 1: room, pause or resume changed
	waiting      atomic.Int32  // intake waits for wake: a settled message signals only then
	ticks        atomic.Int64  // keeper ticks so far: held.touched's clock (no clock read per message)
	lapseWarned  atomic.Int64  // monoNow of dropLapsed's last WARN
	// alive is monoNow of the keeper's last tick (or the run's start);
	// frozenFrom, of the last tick before a gap of ack-wait between
	// ticks; graceLeft and graceUntil bound the messages taken for
	// delivered during that gap after the keeper noticed it (receivedAt).
	alive, frozenFrom, graceLeft, graceUntil atomic.Int64
	// lapsed counts the messages dropLapsed left to the redelivery, for
	// its WARN.
	lapsed atomic.Int64

	lastSeq atomic.Uint64 // highest stream sequence received
	// filtersWarned is the durable's filter subjects (filtersOf) that
	// checkFilters last warned of, "" when none.
	filtersWarned atomic.Value
	created       atomic.Int64 // creation time of the stream consumed (unix nanoseconds)
	// jcCreated is the creation time (unix nanoseconds) of the JetStream
	// consumer as the run last saw it: another one means it was made
	// again, maybe with its stream (see checkRemade).
	jcCreated atomic.Int64

	// advisories is the subscription to max-deliveries advisories, or
	// nil; advStopped: Stop ended it, none is made again. Under advMu: a
	// max-deliver set on the server while the run goes on (adopt) starts
	// the watch as well.
	advMu      sync.Mutex
	advisories *natsgo.Subscription
	advStopped bool

	// Concurrency 1 without batches, the callback hands messages to the
	// run's worker (work), which calls the pool (Inline) itself: workDone
	// is closed when it has returned (nil otherwise), workWake wakes it.
	workDone chan struct{}
	workWake chan struct{} // capacity 1: a token only while workIdle

	mu         sync.Mutex
	paused     bool
	held       heldList
	queue      []*held            // accepted, for the worker (inline): taken all at once
	workIdle   bool               // the worker waits for workWake
	queueShut  bool               // intake ended: accept gives back what comes late
	recycled   sync.Pool          // of *held: untracked ones, reused by accept (an allocation less per message)
	nextCancel context.CancelFunc // ends the pump's wait for the next message
	// drained is closed when the current pull has ended and what the
	// client had buffered of it has been accepted (see flushPull).
	drained chan struct{}
	// naked holds the stream sequences of messages the run gave back
	// (Nak) or left unacknowledged and has not seen settled since: their
	// redelivery is the JetStream consumer's state, so a consumer made
	// again (the server lost it) starts no later than the lowest of them
	// and of the messages held (see reopen) — else they would be lost
	// with it. Sequences at or
	// below the consumer's ack floor (another member settled them) are
	// dropped whenever the run reads the consumer's info, and the lowest
	// half when it holds more than nakedMax.
	naked map[uint64]struct{}
	// lateBack holds the messages the client handed over while the run
	// stopped, to be given back (Nak) only after the ones the run had
	// queued (see giveBackAfterQueued); queuedBack is set once Stop has
	// given those back.
	lateBack   []jetstream.Msg
	queuedBack bool
	// The Naks of a stopping group member, sent as requests that
	// JetStream answers once it has processed them (see nak): backSub
	// receives the answers, backSent counts the Naks sent, and
	// backClosed is set once Stop has waited for them (later Naks are
	// sent without).
	backMu     sync.Mutex
	backSub    *natsgo.Subscription
	backSent   int
	backClosed bool
}

// nakedMax bounds run.naked (members of a group that settle each other's
// Nak'ed messages could otherwise grow it without end between two reads of
// the consumer's ack floor).
const nakedMax = 1 << 16

func (c *consumer) newRun() *run {
	r := &run{
		c:          c,
		intakeDone: make(chan struct{}),
		keeperDone: make(chan struct{}),
		retime:     make(chan struct{}, 1),
		wake:       make(chan struct{}, 1),
	}
	r.recycled.New = func() any { return new(held) }
	r.intakeCtx, r.intakeCancel = context.WithCancel(context.Background())
	r.created.Store(c.created.Load())
	batch := 1
	if c.spec.Consumer.BatchMode {
		batch = c.cs.batchSize
	}
	// One worker without batches: the callback appends to a queue the
	// worker empties at once (woken only when it waits), instead of a
	// channel operation and often a wake-up per message.
	inline := c.conc == 1 && batch == 1
	if inline {
		r.workDone = make(chan struct{})
		r.workWake = make(chan struct{}, 1)
	}
	r.pool = dispatch.New(dispatch.Options[*held]{
		Workers:  c.conc,
		QueueLen: 2*c.cs.prefetch + 1,
		Batch:    batch,
		Handle:   r.handle,
		Release:  r.release,
		Inline:   inline,
	})
	return r
}

// work hands the queued messages to the pool (Inline: the handler runs
// here) in arrival order until intake has ended and the queue is empty;
// one the pool refuses (the run stops) is given back. It takes everything
// queued while it was busy in one hand-over, instead of a channel
// operation per message.
func (r *run) work() {
	defer close(r.workDone)
	var batch []*held
	for {
		if batch = r.take(batch); batch == nil {
			return
		}
		for _, h := range batch {
			// Not intake's context: as with a worker of the pool's own,
			// what is queued is handled until Stop stops the pool — after
			// intake ended and dropStaleRequests ran — and given back only
			// then. Each is untracked as soon as it is settled (settle), so
			// that intake's room and the keeper see it at once.
			if !r.pool.Submit(context.Background(), "", h) {
				r.release(h)
			}
		}
		clear(batch)
	}
}

// take returns everything queued, waiting while nothing is, and reuses
// spare (the previous take's slice, now handled) for what comes next. It
// returns nil when the queue is shut and empty.
func (r *run) take(spare []*held) []*held {
	r.mu.Lock()
	for len(r.queue) == 0 {
		if r.queueShut {
			r.mu.Unlock()
			return nil
		}
		r.workIdle = true
		r.mu.Unlock()
		<-r.workWake
		r.mu.Lock()
	}
	out := r.queue
	r.queue = spare[:0]
	r.mu.Unlock()
	return out
}

// shutQueue ends the worker once it has taken what is queued; a message
// accepted afterwards is given back at once.
func (r *run) shutQueue() {
	r.mu.Lock()
	r.queueShut = true
	w := r.workIdle
	r.workIdle = false
	r.mu.Unlock()
	if w {
		r.workWake <- struct{}{}
	}
}

// open returns the run's JetStream consumer: the group's durable one
// (made again if it was deleted), or a new ephemeral one for an anonymous
// consumer — one made here starting at stream sequence from when that is
// not 0 (a consumer that the server lost while this run had it, or whose
// stream was made again), else where its settings say.
func (r *run) open(ctx context.Context, from uint64) (jetstream.Consumer, error) {
	c := r.c
	js := c.conn.js
	if c.group != "" {
		jc, err := js.Consumer(ctx, c.ref.name, c.cfg.Durable)
		if err == nil {
			return jc, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, c.bd.apiErr(err, "consumer %s on stream %s", c.cfg.Durable, c.ref.name)
		}
		cfg := c.cfg
		if from > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
		}
		c.log.Warn("nats: the group's durable consumer is gone; creating it again", "consumer", cfg.Durable, "from-sequence", cfg.OptStartSeq)
		return c.bd.ensureConsumer(ctx, c.conn, c.ref, cfg, c.advice)
	}
	cfg := c.cfg
	if from > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	jc, err := js.CreateOrUpdateConsumer(ctx, c.ref.name, cfg)
	if err != nil {
		return nil, c.bd.apiErr(err, "create an ephemeral consumer on stream %s", c.ref.name)
	}
	return jc, nil
}

func (r *run) consumer() jetstream.Consumer { return *r.jc.Load() }

// lowWater is the number of held messages below which intake goes on
// after it stopped for holding prefetch: at most half of prefetch.
func (r *run) lowWater() int { return r.c.cs.prefetch/2 + 1 }

func (r *run) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// intake pulls messages and hands them to the pool until Stop. It holds
// at most about prefetch messages: when it has that many it stops taking
// from the client's buffer until half of them are settled. When that takes
// longer than ack-wait/3 it stops pulling altogether (draining the buffer
// into the pool) and opens a new pull when half were settled, so that no
// received message waits untracked for long — every held one is kept from
// redelivery by the keeper.
func (r *run) intake() {
	defer close(r.intakeDone)
	c := r.c
	back := dispatch.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	fails := 0
	first := true
	// opened: the last reopen did not fail, so a pull begins on a
	// consumer the server has (a pull on one it lacks fails only by
	// missing heartbeats, after about 2 x pullHeartbeat).
	opened := true
	for r.waitRoom() {
		// An ephemeral consumer may have been removed by the server while
		// intake rested (a pause longer than inactive-threshold): make it
		// again after the last message received. A consumer that could
		// not be made again is tried again here, after the back-off, and
		// not pulled on until it is: a pull on a consumer the server
		// lacks fails only by missing heartbeats, about 2 x pullHeartbeat
		// later, and the binding would wait that long after the consumer
		// could be made again.
		remake := !first && (c.group == "" || !opened)
		first = false
		if remake {
			err := r.reopen()
			opened = err == nil
			if err != nil {
				fails++
				c.SetHealth(err)
				c.log.Warn("nats: cannot open the JetStream consumer; retrying", "attempt", fails, "error", c.bd.logErr(err))
				if !dispatch.Sleep(r.intakeCtx, back.Delay(fails)) {
					return
				}
				continue
			}
		}
		began := time.Now()
		err := r.pump()
		if err == nil {
			fails = 0
			continue
		}
		if r.intakeCtx.Err() != nil {
			return
		}
		if time.Since(began) >= c.bd.st.reconnectStable {
			// The pull ran well for a while: this failure starts a new
			// streak (attempt 1, the shortest back-off), as a connection
			// up for reconnect-stable-interval does, rather than
			// continuing the last outage's — which would make every
			// outage of a long-running service wait reconnect-max-like
			// back-off and log an attempt count that only grows. (A
			// consumer that could not be made again is not pulled on:
			// see above.)
			fails = 0
		}
		fails++
		c.log.Warn("nats: consuming failed; retrying", "attempt", fails, "error", c.bd.logErr(err))
		err = r.reopen()
		opened = err == nil
		if err != nil {
			c.SetHealth(err)
			c.log.Warn("nats: cannot open the JetStream consumer", "error", c.bd.logErr(err))
		}
		if !dispatch.Sleep(r.intakeCtx, back.Delay(fails)) {
			return
		}
	}
}

// waitRoom waits until intake may pull: not paused and at most half of
// prefetch held. False when the run stops.
func (r *run) waitRoom() bool {
	r.waiting.Add(1)
	defer r.waiting.Add(-1)
	for {
		r.mu.Lock()
		ok := !r.paused && r.held.n < r.lowWater()
		r.mu.Unlock()
		if ok {
			return r.intakeCtx.Err() == nil
		}
		select {
		case <-r.wake:
		case <-r.intakeCtx.Done():
			return false
		}
	}
}

// pump consumes (nats.go's Consume: pulls of prefetch messages, each
// handed to a callback) until the run stops, pauses, holds prefetch
// messages for longer than ack-wait/3, or the pull fails; then it drains
// what the client buffered into the pool (or, when the run stops, gives
// it back). A nil error means "open a new pull when there is room".
//
// Consume rather than the Messages iterator: the iterator arms a
// heartbeat timer for every message it returns and hands each over a
// channel, which cost about a quarter of the binder's consume path.
func (r *run) pump() error {
	c := r.c
	r.mu.Lock()
	nctx, cancel := context.WithCancel(r.intakeCtx)
	r.nextCancel = cancel
	drained := make(chan struct{})
	r.drained = drained
	if r.paused {
		cancel()
	}
	r.mu.Unlock()
	defer cancel()
	var drainedOnce sync.Once
	endDrain := func() { drainedOnce.Do(func() { close(drained) }) }
	defer endDrain()
	if nctx.Err() != nil {
		return nil // paused or stopped before the pull began
	}
	var (
		mu   sync.Mutex
		ferr error           // why the pull failed
		back []jetstream.Msg // drained while the run stops: given back after dropStaleRequests
		late bool            // back was given back: Nak at once
	)
	fail := func(err error) {
		mu.Lock()
		if ferr == nil {
			ferr = err
		}
		mu.Unlock()
		cancel()
	}
	// checks is the checks of the consumer after missed heartbeats
	// (checkPull), at most one at a time (checking).
	var (
		checks   sync.WaitGroup
		checking atomic.Bool
	)
	defer checks.Wait()
	// The callback runs on one goroutine of the client's, message after
	// message; while it waits for room the client buffers (at most a
	// pull's worth) and pulls nothing more.
	// waited: the callback has waited for room in this pull, so what it
	// takes from now on may have waited in the client's buffer meanwhile
	// (only the callback's goroutine uses it).
	waited := false
	// drainCalled is closed once Drain has been called. A callback that
	// finds the pull ending returns only after that: nats.go pulls again
	// when a callback returns and too few messages are on their way, and
	// the server would deliver that pull's messages once the subscription
	// is gone — into the consumer's redelivery queue at once, ahead of the
	// older messages the run gives back (Nak) after the drain, so that the
	// member taking over got them first (m08 m09 m10 before m02..m07).
	// Drain stops nats.go's pulling; it does not wait for callbacks.
	drainCalled := make(chan struct{})
	defer func() {
		select {
		case <-drainCalled:
		default:
			close(drainCalled) // Consume failed: no callback waits
		}
	}()
	handler := func(msg jetstream.Msg) {
		defer func() {
			if nctx.Err() != nil {
				<-drainCalled
			}
		}()
		if nctx.Err() == nil {
			c.SetHealth(nil)
			// Full: wait until half is settled, not for one slot — else
			// every settled message would wake intake for one more.
			if r.accept(msg, waited) >= c.cs.prefetch {
				waited = true
				if !r.waitBelow(nctx, r.lowWater(), c.ackWait()/3) {
					if nctx.Err() == nil {
						c.log.Debug("nats: prefetch messages held for ack-wait/3; ending the pull", "held", c.cs.prefetch)
					}
					cancel()
				}
			}
			return
		}
		if r.intakeCtx.Err() == nil {
			r.accept(msg, true) // paused or full: drained into the pool
			return
		}
		mu.Lock()
		if !late {
			back = append(back, msg)
			msg = nil
		}
		mu.Unlock()
		if msg != nil {
			r.giveBackAfterQueued(msg)
		}
	}
	cc, err := r.consumer().Consume(handler,
		jetstream.PullMaxMessages(c.cs.prefetch),
		jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(pullHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			switch {
			case errors.Is(err, jetstream.ErrNoHeartbeat):
				// nats.go has pulled anew on this subscription already.
				// Ending the pull now left that request at the server
				// after the drain, and a message given back (Nak) that
				// the server handed to it waited for ack-wait (server
				// 2.9; see dropStaleRequests). The pull goes on unless
				// the consumer is gone, which missing heartbeats are
				// the only sign of.
				if checking.CompareAndSwap(false, true) {
					checks.Add(1)
					go func() {
						defer checks.Done()
						defer checking.Store(false)
						r.checkPull(nctx, err, fail)
					}()
				}
			case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
				fail(err)
			case errors.Is(err, jetstream.ErrConnectionClosed):
				fail(fmt.Errorf("the pull subscription closed: %w", err))
			default:
				c.log.Debug("nats: pull status", "error", c.bd.logErr(err))
			}
		}),
	)
	if err != nil {
		return err
	}
	closed := cc.Closed()
	select {
	case <-nctx.Done():
	case <-closed:
		fail(errors.New("the pull subscription closed"))
	}
	if c.beforeDrain != nil {
		c.beforeDrain()
	}
	cc.Drain()
	close(drainCalled)
	t := time.NewTimer(drainWait)
	select {
	case <-closed:
	case <-t.C:
		c.log.Debug("nats: draining the pull subscription takes long; going on", "waited", drainWait)
	}
	t.Stop()
	endDrain() // what the client buffered is accepted (or held back for Stop)
	r.dropStaleRequests()
	mu.Lock()
	late = true
	give, err := back, ferr
	back = nil
	mu.Unlock()
	for _, m := range give {
		r.giveBackAfterQueued(m)
	}
	return err
}

// checkPull ends the pull (fail) after missed heartbeats (err) unless
// the run's consumer answers within the API timeout: a consumer the
// server lacks gets no heartbeats, and intake makes it again (reopen).
func (r *run) checkPull(ctx context.Context, err error, fail func(error)) {
	c := r.c
	ictx, cancel := context.WithTimeout(ctx, c.bd.st.apiTimeout)
	_, ierr := r.consumer().Info(ictx)
	cancel()
	switch {
	case ctx.Err() != nil:
	case ierr == nil:
		c.log.Debug("nats: pull heartbeats missed; the consumer is there, pulling anew", "error", c.bd.logErr(err))
	default:
		c.log.Debug("nats: pull heartbeats missed; consumer info", "error", c.bd.logErr(ierr))
		fail(err)
	}
}

// giveBackAfterQueued gives back a message the client handed over after
// the run began to stop: it came after every message the run accepted, so
// while Stop has not yet given back what it had queued (which JetStream
// redelivers in the order of the Naks) it waits for that, else a member
// that takes over would get it before older messages of its partition or
// key. Once Stop has (or gave up waiting), it is given back at once.
func (r *run) giveBackAfterQueued(m jetstream.Msg) {
	r.mu.Lock()
	if !r.queuedBack {
		r.lateBack = append(r.lateBack, m)
		m = nil
	}
	r.mu.Unlock()
	if m != nil {
		r.giveBack(m)
	}
}

// flushLateBack gives back what giveBackAfterQueued held, in order, and
// lets it give back at once from now on.
func (r *run) flushLateBack() {
	r.mu.Lock()
	late := r.lateBack
	r.lateBack, r.queuedBack = nil, true
	r.mu.Unlock()
	for _, m := range late {
		r.giveBack(m)
	}
}

// giveBack Naks a received message that the run does not track.
func (r *run) giveBack(m jetstream.Msg) {
	if _, seq, _, ok := ackInfo(m.Reply()); ok {
		r.noteNak(seq)
	}
	_ = r.nak(m)
}

// nak gives m back for redelivery at once (Nak without delay). Once a
// group member's run stops, the Nak is sent as a request, which JetStream
// answers when it has processed it, and Stop waits for the answers
// (confirmBack) before it returns: the server processes a consumer's
// acknowledgements on a queue of their own, apart from pull requests, so
// a pull made just after asynchronous Naks (by the member taking over, in
// a rolling restart) was served newer messages before the older ones
// given back, against the order per partition and key. An anonymous
// consumer's run needs no answer (its consumer is deleted).
func (r *run) nak(m jetstream.Msg) error {
	if r.c.group == "" || r.intakeCtx.Err() == nil || m.Reply() == "" {
		return m.Nak()
	}
	r.backMu.Lock()
	defer r.backMu.Unlock()
	if r.backClosed {
		return m.Nak()
	}
	nc := r.c.conn.nc
	if r.backSub == nil {
		sub, err := nc.SubscribeSync(nc.NewInbox())
		if err != nil {
			return m.Nak()
		}
		// At most what the run held and buffered is given back, but an
		// answer dropped for a slow subscriber would only make Stop wait.
		_ = sub.SetPendingLimits(-1, -1)
		r.backSub = sub
	}
	if err := nc.PublishRequest(m.Reply(), r.backSub.Subject, []byte("-NAK")); err != nil {
		return fmt.Errorf("nak: %w", err)
	}
	r.backSent++
	return nil
}

// confirmBack waits, bounded by ctx and the API timeout, until JetStream
// has answered every Nak nak sent as a request, and has later Naks sent
// without. The consumer processes acknowledgements in the order they
// came, so once it has, a member pulling next gets the oldest given back
// first. A Nak not answered (the connection lost) leaves its message for
// redelivery after ack-wait, as before: logged, not an error of Stop.
func (r *run) confirmBack(ctx context.Context) {
	r.backMu.Lock()
	sub, n := r.backSub, r.backSent
	r.backClosed = true
	r.backMu.Unlock()
	if sub == nil {
		return
	}
	defer func() { _ = sub.Unsubscribe() }()
	ctx, cancel := context.WithTimeout(ctx, r.c.bd.st.apiTimeout)
	defer cancel()
	for i := range n {
		if _, err := sub.NextMsgWithContext(ctx); err != nil {
			r.c.log.Debug("nats: JetStream did not confirm every message given back; a member pulling now may get newer ones first", "confirmed", i, "given_back", n, "error", r.c.bd.logErr(err))
			return
		}
	}
}

// drainWait bounds the wait for the client to hand over what it buffered
// when a pull ends.
const drainWait = 5 * time.Second

// dropStaleRequests makes the server forget the pull requests of a pull
// subscription that was just drained, before anything is given back (Nak):
// NATS server 2.9 loses track of a redelivered message that it tries to
// hand to a pull request whose client is gone (the message then waits for
// ack-wait, and another is delivered twice). A consumer info request makes
// the server drop requests nobody listens to any more.
func (r *run) dropStaleRequests() {
	ctx, cancel := context.WithTimeout(context.Background(), min(r.c.bd.st.apiTimeout, 2*time.Second))
	defer cancel()
	info, err := r.consumer().Info(ctx)
	if err != nil {
		r.c.log.Debug("nats: consumer info after a drain", "error", r.c.bd.logErr(err))
		return
	}
	r.ackFloor(info)
}

// waitBelow waits, without pulling, until the run holds fewer than limit
// messages. It gives up (false) after d — the client may have received
// messages that the binder does not track yet, and their ack-wait runs —
// and when ctx ends.
func (r *run) waitBelow(ctx context.Context, limit int, d time.Duration) bool {
	r.waiting.Add(1)
	defer r.waiting.Add(-1)
	var t *time.Timer
	for {
		r.mu.Lock()
		n := r.held.n
		r.mu.Unlock()
		if n < limit {
			if t != nil {
				t.Stop()
			}
			return true
		}
		if t == nil {
			t = time.NewTimer(d)
			defer t.Stop()
		}
		select {
		case <-r.wake:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// reopen checks that the run's JetStream consumer still exists, and makes
// it again when the server lost it: after the last message received, or —
// when the stream itself was deleted (and made again, by this consumer or
// a producer) — from the start of the new stream, whatever start-offset
// says: all of the new stream is new to the group, and a message stored
// before the consumer is made again must not be skipped.
func (r *run) reopen() error {
	c := r.c
	ctx, cancel := context.WithTimeout(r.intakeCtx, c.bd.st.apiTimeout+streamGoneWait)
	defer cancel()
	info, err := r.consumer().Info(ctx)
	if err == nil {
		r.checkRemade(ctx, info)
		r.ackFloor(info)
		return nil
	}
	if !(errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)) {
		return nil // the server does not answer: go on pulling
	}
	after, remade := r.lastSeq.Load(), false
	s, err := c.conn.js.Stream(ctx, c.ref.name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// The stream went too (an operator deleted it): provision it
		// again, as a producer does (not at once: see streamGoneWait).
		ref, perr := c.bd.provisionAgain(ctx, c.conn, c.dest)
		if perr != nil {
			return perr
		}
		if ref.name != c.ref.name {
			return fmt.Errorf("the destination's stream %s is gone and %s captures it now: bind the consumer again", c.ref.name, ref.name)
		}
		c.log.Warn("nats: the destination's stream was gone; provisioned it again", "stream", ref.name)
		r.setCreated(ref.created.UnixNano())
		after, remade = 0, true
	case err != nil:
		return c.bd.apiErr(err, "stream %s", c.ref.name)
	case s.CachedInfo().Created.UnixNano() != r.created.Load():
		// Deleted and made again meanwhile: sequences start over.
		r.setCreated(s.CachedInfo().Created.UnixNano())
		after, remade = 0, true
	}
	from := after + 1 // after the last message received; 1: the new stream's start
	if after == 0 && !remade {
		from = 0 // nothing received: where the settings say
	}
	if remade {
		r.mu.Lock()
		clear(r.naked) // sequences of the old stream
		r.mu.Unlock()
	} else if low := r.lowestUnsettled(); low != 0 && (from == 0 || low < from) {
		// Messages given back wait for a redelivery that the lost
		// consumer's state held, and a message held now may be given back
		// yet (its settlement goes to the lost consumer): deliver again
		// from the lowest of them. What was settled after it comes again:
		// duplicates, not losses.
		from = low
	}
	jc, err := r.open(ctx, from)
	if err != nil {
		return err
	}
	r.jc.Store(&jc)
	r.setJCCreated(jc.CachedInfo().Created.UnixNano())
	if c.group != "" {
		r.adopt(jc.CachedInfo().Config)
	}
	if remade {
		r.lastSeq.Store(0)
	}
	c.log.Info("nats: JetStream consumer made again", "consumer", jc.CachedInfo().Name, "from-sequence", from)
	c.SetHealth(nil)
	return nil
}

// setCreated records created as the creation time of the stream
// consumed, for this run and the next.
func (r *run) setCreated(created int64) {
	r.created.Store(created)
	r.c.created.Store(created)
}

// setJCCreated records created as the creation time of the run's
// JetStream consumer, for this run and the next (see openKnown).
func (r *run) setJCCreated(created int64) {
	r.jcCreated.Store(created)
	r.c.durCreated.Store(created)
}

// openKnown, as a run of a group's member starts, opens its durable when
// it is the one the binding last saw (by its creation time): its stream
// was not deleted since (that deletes its consumers), and the run needs
// no look at the stream (checkStream) — a request more per binding at
// start-up, where the bindings are started one after the other. It
// returns nil and no error otherwise (an anonymous consumer, a durable
// gone or made again, a server restarted: the caller checks the stream),
// and the error when JetStream does not answer.
func (r *run) openKnown(ctx context.Context) (jetstream.Consumer, error) {
	c := r.c
	known := c.durCreated.Load()
	if c.group == "" || known == 0 {
		return nil, nil
	}
	jc, err := c.conn.js.Consumer(ctx, c.ref.name, c.cfg.Durable)
	switch {
	case err == nil && jc.CachedInfo().Created.UnixNano() == known:
		return jc, nil
	case err != nil && isTransient(err):
		return nil, c.bd.apiErr(err, "consumer %s on stream %s", c.cfg.Durable, c.ref.name)
	}
	return nil, nil
}

// checkStream, as a run starts, provisions the stream again when it was
// deleted since the binding last saw it (a binding stopped before its
// stream was deleted, as the package doc advises), and returns 1 when it
// was deleted and made again: the run then reads the new stream from its
// start, as one that finds it gone at run time does (see reopen), else
// 0.
func (r *run) checkStream(ctx context.Context) (uint64, error) {
	c := r.c
	s, err := c.conn.js.Stream(ctx, c.ref.name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		ref, perr := c.bd.provisionAgain(ctx, c.conn, c.dest)
		if perr != nil {
			return 0, perr
		}
		if ref.name != c.ref.name {
			return 0, fmt.Errorf("the destination's stream %s is gone and %s captures it now: bind the consumer again", c.ref.name, ref.name)
		}
		c.log.Warn("nats: the destination's stream was gone; provisioned it again", "stream", ref.name)
		r.setCreated(ref.created.UnixNano())
		return 1, nil
	case err != nil && isTransient(err):
		return 0, c.bd.apiErr(err, "stream %s", c.ref.name) // not answering: not twice
	case err != nil:
		return 0, nil // opening the consumer says what is wrong
	case s.CachedInfo().Created.UnixNano() != r.created.Load():
		c.log.Warn("nats: the destination's stream was deleted and made again; reading the new one", "stream", c.ref.name)
		r.setCreated(s.CachedInfo().Created.UnixNano())
		return 1, nil
	}
	return 0, nil
}

// checkRemade checks, when info (the run's consumer as the server has it
// now) is of a consumer made again since the run saw it — by another
// member of the group, which made the stream again too, say —, whether
// the run's stream was deleted and made again, and then starts over with
// the new stream's sequences: the messages it holds are the old stream's
// (see stale).
func (r *run) checkRemade(ctx context.Context, info *jetstream.ConsumerInfo) {
	c := r.c
	jcCreated := info.Created.UnixNano()
	if c.group == "" || r.jcCreated.Load() == jcCreated {
		return
	}
	s, err := c.conn.js.Stream(ctx, c.ref.name)
	if err != nil {
		return // the consumer answered; the stream will, at the next check
	}
	r.setJCCreated(jcCreated)
	created := s.CachedInfo().Created.UnixNano()
	if created == r.created.Load() {
		return
	}
	r.setCreated(created)
	r.mu.Lock()
	clear(r.naked) // sequences of the old stream
	r.mu.Unlock()
	r.lastSeq.Store(0)
	c.log.Warn("nats: the destination's stream was deleted and made again; reading the new one", "stream", c.ref.name)
}

// received fills rc, h's zero stream.Received, in place (see fillEnv):
// how h was received, the consumer's destination, the partition of its
// subject (<destination>.<n>) on a partitioned consumer and, when the
// reply subject told them (info), the stream sequence, the time JetStream
// stored it and whether it was delivered before.
func (c *consumer) received(rc *stream.Received, h *held, info bool) {
	rc.Destination = c.dest
	if info {
		rc.Offset, rc.HasOffset = int64(h.seq), true
		rc.Timestamp, rc.Redelivered = h.ts, h.n > 1
	}
	if c.spec.Consumer.Partitioned {
		if s, d := h.subject, c.dest; len(s) > len(d)+1 && s[len(d)] == '.' && s[:len(d)] == d {
			if p, err := strconv.Atoi(s[len(d)+1:]); err == nil && p >= 0 {
				rc.Partition, rc.HasPartition = p, true
			}
		}
	}
}

// accept tracks msg and hands it to the pool; it returns how many
// messages the run holds. buffered: msg may have waited in the client's
// buffer since the server delivered it.
func (r *run) accept(msg jetstream.Msg, buffered bool) int {
	h := r.recycled.Get().(*held)
	h.msg, h.subject = msg, msg.Subject()
	if r.c.spec.LazyHeaders {
		fillEnvLazy(&h.env, msg.Headers(), msg.Data()) // h is zero (new, or cleared by untrack)
	} else {
		fillEnv(&h.env, msg.Headers(), msg.Data())
	}
	var ok bool
	if h.n, h.seq, h.ts, ok = ackInfo(msg.Reply()); ok {
		for {
			cur := r.lastSeq.Load()
			if h.seq <= cur || r.lastSeq.CompareAndSwap(cur, h.seq) {
				break
			}
		}
	}
	h.created = r.created.Load()
	r.c.received(&h.env.Received, h, ok)
	// A buffered message is due at the keeper's next tick, not the one
	// after: it may have waited in the client's buffer (up to about
	// ack-wait/3, see pump) since the server delivered it and started its
	// ack-wait. One taken at once is due at the one after, as before: at
	// the next, every message handled longer than the time to that tick
	// cost an in-progress ack it did not need (a quarter of 250ms
	// handlers' at ack-wait 3s, TestReview2InProgressAcksAtSteadyState).
	tick := r.ticks.Load()
	if buffered {
		tick--
	}
	h.touched.Store(tick)
	h.kept.Store(r.receivedAt())
	r.mu.Lock()
	r.held.push(h)
	n := r.held.n
	if r.workDone != nil {
		// Inline: queued for the worker, woken only when it waits.
		shut, wake := r.queueShut, r.workIdle
		if !shut {
			r.queue = append(r.queue, h)
			r.workIdle = false
		}
		r.mu.Unlock()
		if wake && !shut {
			r.workWake <- struct{}{}
		}
		if shut {
			r.release(h)
		}
		return n
	}
	r.mu.Unlock()
	rt := ""
	if r.c.conc > 1 {
		rt = route(h) // one worker keeps every route's order anyway
	}
	if !r.pool.Submit(r.intakeCtx, rt, h) {
		r.release(h)
	}
	return n
}

// ackInfo reads a JetStream message's deliveries, stream sequence and
// timestamp from its ack subject, as jetstream.Msg.Metadata does but
// without allocating (this is on every message's path):
//
//	$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>
//	$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>[.<token>]
func ackInfo(reply string) (delivered, seq uint64, ts time.Time, ok bool) {
	const prefix = "$JS.ACK."
	if len(reply) < len(prefix) || reply[:len(prefix)] != prefix {
		return 0, 0, time.Time{}, false
	}
	// One pass over the tokens after the prefix: where the first eight
	// end, and how many there are (two scans and six cuts before, about
	// a third more time).
	var ends [8]int
	k := 0 // dots after the prefix
	for i := len(prefix); i < len(reply); i++ {
		if reply[i] == '.' {
			if k < len(ends) {
				ends[k] = i
			}
			k++
		}
	}
	tok := func(i int) string { // the i-th token after the prefix
		from, to := len(prefix), len(reply)
		if i > 0 {
			from = ends[i-1] + 1
		}
		if i < k {
			to = ends[i]
		}
		return reply[from:to]
	}
	first := 2           // skip stream, consumer
	switch n := k + 3; { // tokens, $JS and ACK included
	case n == 9:
	case n >= 11:
		first = 4 // domain, account hash, stream, consumer
	default:
		return 0, 0, time.Time{}, false
	}
	return ackNum(tok(first)), ackNum(tok(first + 1)), time.Unix(0, int64(ackNum(tok(first+3)))), true
}

// ackNum is a decimal number of an ack subject; 0 when it is not one.
func ackNum(s string) uint64 {
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n
}

// route is the ordering route of a message: its partition, else its key,
// else none.
func route(h *held) string {
	if p := h.env.Header(stream.HeaderPartition); p != "" {
		return "p" + p
	}
	if len(h.env.Key) > 0 {
		return "k" + string(h.env.Key)
	}
	return ""
}

// untrack ends the run's tracking of h, which is then recycled: nothing
// may use h afterwards.
func (r *run) untrack(h *held) {
	r.mu.Lock()
	was := r.held.remove(h)
	n := r.held.n
	switch {
	case !was: // untracked already (and maybe reused): nothing to note
	case r.stale(h): // its sequence is of a stream deleted since: not the new one's
	case h.gaveBack:
		r.noteNakLocked(h.seq)
	case len(r.naked) > 0:
		delete(r.naked, h.seq)
	}
	r.mu.Unlock()
	if r.waiting.Load() > 0 && n < r.lowWater() {
		r.signal()
	}
	if was {
		*h = held{}
		r.recycled.Put(h)
	}
}

// noteNak records that the message of stream sequence seq was given back
// (see run.naked).
func (r *run) noteNak(seq uint64) {
	r.mu.Lock()
	r.noteNakLocked(seq)
	r.mu.Unlock()
}

func (r *run) noteNakLocked(seq uint64) {
	if seq == 0 {
		return
	}
	if r.naked == nil {
		r.naked = make(map[uint64]struct{})
	}
	r.naked[seq] = struct{}{}
	if len(r.naked) > nakedMax {
		seqs := make([]uint64, 0, len(r.naked))
		for s := range r.naked {
			seqs = append(seqs, s)
		}
		slices.Sort(seqs)
		for _, s := range seqs[:len(seqs)/2] {
			delete(r.naked, s)
		}
	}
}

// ackFloor drops the given-back sequences at or below the consumer's ack
// floor (stream sequence): they are settled.
func (r *run) ackFloor(info *jetstream.ConsumerInfo) {
	if info == nil {
		return
	}
	floor := info.AckFloor.Stream
	r.mu.Lock()
	for s := range r.naked {
		if s <= floor {
			delete(r.naked, s)
		}
	}
	r.mu.Unlock()
}

// lowestUnsettled returns the lowest stream sequence of the messages the
// run holds or gave back (see run.naked), or 0.
func (r *run) lowestUnsettled() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var low uint64
	for s := range r.naked {
		if low == 0 || s < low {
			low = s
		}
	}
	r.held.each(func(h *held) {
		if h.seq != 0 && !r.stale(h) && (low == 0 || h.seq < low) {
			low = h.seq
		}
	})
	return low
}

// release gives a message that was not handled back to JetStream at once
// (Nak without delay), so that another member of the group gets it.
func (r *run) release(h *held) {
	if r.stale(h) {
		r.c.log.Debug("nats: a message of the deleted stream not handled; its stream is gone, not given back", "sequence", h.seq)
		r.untrack(h)
		return
	}
	h.gaveBack = true
	if err := r.nak(h.msg); err != nil {
		r.c.log.Debug("nats: nak failed; the message is redelivered after ack-wait", "sequence", h.seq, "error", r.c.bd.logErr(err))
	}
	r.untrack(h)
}

// keeper sends in-progress acks for held messages, so that JetStream does
// not redeliver a message that waits for its turn or whose handler runs
// longer than ack-wait.
func (r *run) keeper() {
	defer close(r.keeperDone)
	// Every third of the consumer's ack-wait as the server has it: it
	// follows a change (retime).
	every := keepEvery(r.c.ackWait())
	t := time.NewTicker(every)
	defer t.Stop()
	type keep struct {
		msg jetstream.Msg
		seq uint64
	}
	var due []keep
	for {
		select {
		case <-t.C:
		case <-r.retime:
			if e := keepEvery(r.c.ackWait()); e != every {
				every = e
				t.Reset(every)
			}
			continue
		case <-r.pool.Done():
			return
		}
		// A message received after tick k has been held at least every
		// at tick k+2; one acked in progress at tick k is due again at
		// tick k+1.
		now := r.ticks.Add(1)
		at := monoNow()
		if prev := r.alive.Load(); at-prev >= int64(r.c.ackWait()) {
			// The process did not run for ack-wait (see receivedAt). Stored
			// before alive: an accept that sees the new alive sees these.
			r.frozenFrom.Store(prev)
			r.graceLeft.Store(int64(r.c.cs.prefetch))
			r.graceUntil.Store(at + int64(every))
		}
		r.alive.Store(at) // see receivedAt
		due = due[:0]
		r.mu.Lock()
		// Copied out under the lock: a message settled meanwhile has its
		// held record recycled.
		r.held.each(func(h *held) {
			if now-h.touched.Load() >= 2 && !r.lapsedAt(h, at) && !r.stale(h) {
				// A lapsed one is not kept alive: it is another member's
				// now (see lapsed).
				h.touched.Store(now - 1)
				h.kept.Store(at)
				due = append(due, keep{h.msg, h.seq})
			}
		})
		r.mu.Unlock()
		for _, k := range due {
			if err := k.msg.InProgress(); err != nil {
				r.c.log.Debug("nats: in-progress ack failed", "sequence", k.seq, "error", r.c.bd.logErr(err))
			}
		}
		clear(due)
	}
}

// keepEvery is the keeper's tick for ack-wait d.
func keepEvery(d time.Duration) time.Duration { return max(d/3, 100*time.Millisecond) }

// ackWaitSubject is the core NATS subject on which a bind that lowers the
// ack-wait of the durable consumer durable on stream streamName announces
// it to the group's running members (see announceAckWait).
func ackWaitSubject(streamName, durable string) string {
	return "_STREAMBIND.ACKWAIT." + streamName + "." + durable
}

// watchNotices subscribes to the announcements of a lowered ack-wait of
// the group's durable (see announceAckWait). Best effort: without it (no
// permission) the change is learnt within configRefresh (watchConsumer).
func (r *run) watchNotices() {
	c := r.c
	sub, err := c.conn.nc.Subscribe(ackWaitSubject(c.ref.name, c.cfg.Durable), r.ackWaitNotice)
	if err != nil {
		c.log.Debug("nats: cannot watch announcements of a lowered ack-wait; a change is read from the server within "+configRefresh.String(), "error", c.bd.logErr(err))
		return
	}
	r.notices = sub
}

// ackWaitNotice takes another member's announcement that its bind lowers
// the durable's ack-wait: every message held is acknowledged in progress
// at once, before the server's ack-wait is lowered, and kept at the lower
// one's pace from then on; the reply tells the announcing bind that this
// member is ready.
func (r *run) ackWaitNotice(m *natsgo.Msg) {
	c := r.c
	if r.ended() {
		// Its subscription outlives it a moment (see watchConsumer), and
		// the next run's may be there already: that one takes it and
		// replies; taken here it would retime only this run's keeper,
		// and the next run would find the ack-wait unchanged.
		return
	}
	d, err := time.ParseDuration(string(m.Data))
	if err != nil || d < time.Second {
		// Below the least ack-wait a binding has (see parseConsumer):
		// no bind announced it, and taking it would have every message
		// received taken for lapsed until announceHold passed.
		c.log.Debug("nats: ack-wait announcement ignored: unreadable, or below 1s", "data", string(m.Data))
		return
	}
	if d < c.ackWait() {
		c.timing.announcedUntil.Store(monoNow() + int64(announceHold))
		c.timing.announced.Store(int64(d))
		r.setAckWait(d, true)
	}
	_ = m.Respond(nil)
}

// watchConsumer reads the group's durable consumer's configuration from
// the server every configRefresh until the run's handler calls have all
// returned, and follows its ack-wait and max-deliver (adopt): a member of
// another version may have changed them (a rolling deployment), or an
// operator. It ends the run's subscription to announcements then.
func (r *run) watchConsumer() {
	defer func() {
		if r.notices != nil {
			_ = r.notices.Unsubscribe()
		}
	}()
	t := time.NewTicker(configRefresh)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-r.pool.Done():
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.c.bd.st.apiTimeout)
		info, err := r.consumer().Info(ctx)
		cancel()
		if err != nil {
			continue // gone or unreachable: intake's reopen sees to it
		}
		if r.ended() {
			return // the next run follows it (see ackWaitNotice)
		}
		ctx, cancel = context.WithTimeout(context.Background(), r.c.bd.st.apiTimeout)
		r.checkRemade(ctx, info)
		cancel()
		r.ackFloor(info)
		r.adopt(info.Config)
	}
}

// ended reports whether the run's handler calls have all returned: a
// next run may have started.
func (r *run) ended() bool {
	select {
	case <-r.pool.Done():
		return true
	default:
		return false
	}
}

// adopt follows cfg, the consumer's configuration as the server has it.
func (r *run) adopt(cfg jetstream.ConsumerConfig) {
	c := r.c
	r.checkFilters(cfg)
	if md := int64(cfg.MaxDeliver); md != c.maxDeliver() {
		c.log.Info("nats: the durable consumer's max-deliver changed on the server; following it", "consumer", cfg.Durable, "max-deliver", md, "was", c.maxDeliver())
		c.timing.maxDeliver.Store(md)
		if c.dlq && md > 0 {
			// Started without one: a last delivery that lapses is known
			// only by its advisory.
			r.watchMaxDeliveries()
		}
	}
	r.setAckWait(c.serverAckWait(cfg), false)
}

// filtersOf returns the filter subjects of cfg, sorted and joined with
// ", "; "" when it has none (the whole stream).
func filtersOf(cfg jetstream.ConsumerConfig) string {
	f := slices.Clone(cfg.FilterSubjects)
	if cfg.FilterSubject != "" {
		f = append(f, cfg.FilterSubject)
	}
	slices.Sort(f)
	return strings.Join(f, ", ")
}

// checkFilters logs a WARN, once a change, when cfg, the durable consumer
// as the server has it, filters other subjects than the binding's: another
// program (nats consumer edit) changed them, and the group reads what they
// say — none of its destination's messages, say, without another word.
// The next bind of a member sets them back (with a WARN of its own).
func (r *run) checkFilters(cfg jetstream.ConsumerConfig) {
	c := r.c
	have, want := filtersOf(cfg), filtersOf(c.cfg)
	if have == want {
		r.filtersWarned.Store("")
		return
	}
	if r.filtersWarned.Swap(have) == have {
		return
	}
	none := func(s string) string {
		if s == "" {
			return "(none: the whole stream)"
		}
		return s
	}
	c.log.Warn("nats: the durable consumer's filter subjects were changed on the server; the group reads what they say, not the binding's destination (bind a member again to set them back)",
		"consumer", cfg.Durable, "filters", none(have), "binding_filters", none(want))
}

// setAckWait makes d the ack-wait that the run times its in-progress
// acks, lapse detection and pull bound by. A lower one first keeps every
// held message alive: announced (before the server has it), all of them
// are acknowledged in progress before d is taken, so that none is taken
// for lapsed; read from the server (which has it already), d is taken
// first, and those whose lease lapsed under it — JetStream delivered them
// again — are left to that redelivery as usual.
func (r *run) setAckWait(d time.Duration, announced bool) {
	r.timingMu.Lock()
	defer r.timingMu.Unlock()
	c := r.c
	old := c.ackWait()
	if d == old {
		return
	}
	if d < old {
		// The keeper ran at the slower pace until now: no gap of the new
		// ack-wait is a freeze (see receivedAt).
		r.alive.Store(monoNow())
		// What the client pulled into its buffer beyond the held messages
		// was delivered as long ago and is not kept alive by the keeper:
		// the pull ends and its buffer is taken (accepted) first, so that
		// keepAll reaches it too. Else, once the server had the lower
		// ack-wait (it re-checks its pending messages at once), it
		// redelivered what waited there longer than that (the rolling
		// trial: prefetch 128 of 50ms handlers, 94 of 2,400 handled twice).
		// The waiting callback's bound (ack-wait/3 of the old one) ends
		// with the pull as well.
		if announced {
			r.flushPull(flushWait)
			r.keepAll()
		}
		c.timing.ackWait.Store(int64(d))
		if !announced {
			r.flushPull(flushWait)
			r.keepAll()
		}
	} else {
		c.timing.ackWait.Store(int64(d))
	}
	c.log.Info("nats: the group's durable consumer's ack-wait changed; timing in-progress acks and redelivery by it", "consumer", c.cfg.Durable, "ack-wait", d, "was", old, "configured", c.cs.ackWait)
	select {
	case r.retime <- struct{}{}:
	default:
	}
}

// flushWait bounds flushPull's wait: an announcing bind waits
// announceWait (2s) for the first reply.
const flushWait = time.Second

// flushPull ends the current pull, if any, and waits (at most d) until
// what the client had buffered of it is accepted; intake opens a new pull
// when there is room.
func (r *run) flushPull(d time.Duration) {
	r.mu.Lock()
	cancel, drained := r.nextCancel, r.drained
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		r.c.log.Debug("nats: the pull's buffer was not taken in time for the lowered ack-wait", "waited", d)
	}
}

// keepAll acknowledges in progress every held message whose lease has not
// lapsed, now.
func (r *run) keepAll() {
	tick, at := r.ticks.Load(), monoNow()
	var due []jetstream.Msg
	r.mu.Lock()
	r.held.each(func(h *held) {
		if !r.lapsedAt(h, at) && !r.stale(h) {
			h.touched.Store(tick)
			h.kept.Store(at)
			due = append(due, h.msg)
		}
	})
	r.mu.Unlock()
	for _, m := range due {
		if err := m.InProgress(); err != nil {
			r.c.log.Debug("nats: in-progress ack failed", "error", r.c.bd.logErr(err))
		}
	}
}

// Done is closed when the run's handler calls have all returned (its
// pool has stopped); the next Start waits for it.
func (r *run) Done() <-chan struct{} {
	if r.workDone != nil {
		return r.workDone // returns after the pool's last handler call
	}
	return r.pool.Done()
}

func (r *run) Pause(ctx context.Context) error {
	r.mu.Lock()
	r.paused = true
	if r.nextCancel != nil {
		r.nextCancel()
	}
	r.mu.Unlock()
	r.signal()
	return r.pool.Pause(ctx)
}

// BeforeResume checks, for a member of a group, whether its stream was
// deleted and made again (with the durable, by another member) while it
// was paused, before it handles and settles what it holds: a consumer
// info, and a stream lookup when the durable is not the one it saw (see
// checkRemade), bounded by ctx and api-timeout. The 5s consumer info
// (watchConsumer) notices it too, but a Resume before it acknowledged the
// old stream's messages on the new one (JetStream's acks name stream,
// durable and sequence). A member whose durable is gone settles nothing
// on it meanwhile; intake's reopen sees to the stream.
func (r *run) BeforeResume(ctx context.Context) {
	c := r.c
	if c.group == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.bd.st.apiTimeout)
	defer cancel()
	info, err := r.consumer().Info(ctx)
	if err != nil {
		return // gone or unreachable: intake's reopen sees to it
	}
	r.checkRemade(ctx, info)
}

func (r *run) Resume() {
	r.mu.Lock()
	r.paused = false
	r.mu.Unlock()
	r.pool.Resume()
	r.signal()
}

// Stop ends intake, releases what is queued, waits (bounded by ctx) for
// the handler calls in flight, and deletes an ephemeral consumer.
func (r *run) Stop(ctx context.Context) error {
	r.intakeCancel()
	r.advMu.Lock()
	r.advStopped = true
	if r.advisories != nil {
		_ = r.advisories.Unsubscribe()
	}
	r.advMu.Unlock()
	// The announcements of a lowered ack-wait (watchNotices) are followed
	// until the handler calls in flight have returned: see watchConsumer.
	var errs []error
	select {
	case <-r.intakeDone:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("intake still draining: %w", ctx.Err()))
	}
	if err := r.pool.Stop(ctx); err != nil {
		errs = append(errs, err)
	} else if r.workDone != nil {
		// What the worker had queued is given back before Stop returns.
		select {
		case <-r.workDone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("giving back queued messages: %w", ctx.Err()))
		}
	}
	// What came after the queued messages goes back after them, so that
	// JetStream redelivers each partition's (key's) messages in order.
	r.flushLateBack()
	r.confirmBack(ctx)
	if r.c.group == "" {
		dctx, cancel := context.WithTimeout(context.Background(), r.c.bd.st.apiTimeout)
		if ctx.Err() != nil {
			cancel()
			dctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
		}
		name := r.consumer().CachedInfo().Name
		if err := r.c.conn.js.DeleteConsumer(dctx, r.c.ref.name, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			r.c.log.Debug("nats: deleting the ephemeral consumer (the server removes it after inactive-threshold)", "consumer", name, "error", r.c.bd.logErr(err))
		}
		cancel()
	}
	return errors.Join(errs...)
}

// handle is the pool's handler: it calls the binding's handler and
// settles the messages.
func (r *run) handle(ctx context.Context, hs []*held) {
	c := r.c
	if hs = r.dropLapsed(hs); len(hs) == 0 {
		return
	}
	if hs = replaygroup.Drop(hs, c.spec.Group, heldEnv, func(h *held) { r.skipReplayed(ctx, h) }); len(hs) == 0 {
		return
	}
	var err error
	if c.spec.Consumer.BatchMode {
		envs := make([]stream.Envelope, len(hs))
		for i, h := range hs {
			envs[i] = h.env
		}
		// The messages the core settles early (stream.BatchSettler: the
		// handled ones before a failed one, before its retries, and one
		// that failed for good, before the ones after it) are settled as
		// soon as it says so, by their outcomes as at the end (a dead
		// letter held while the DLQ refuses holds the call); the outcome
		// settles the others.
		// batch, not hs: a closure that escapes (batchprefix keeps it)
		// and names hs, which is assigned to, would move hs to the heap
		// on every call, a batch or not (an allocation a message).
		batch := hs
		bctx, prefix := batchprefix.New(ctx, len(hs), func(from, to int, outcome error) error {
			r.settleEach(ctx, batch[from:to], outcome)
			if outcome != nil && (ctx.Err() != nil || r.pool.Stopping()) {
				// A Stop began (or cut a held dead letter short): the
				// function does not go on, the rest comes again.
				return errBatchStopping
			}
			return nil
		})
		var k int
		k, err = prefix.Rest(call(func() error { return c.spec.BatchHandler(bctx, envs) }))
		hs = hs[k:]
	} else if err = call(func() error { return c.spec.Handler(ctx, hs[0].env) }); err == nil {
		// What settleEach does for one handled message, without its
		// per-batch bookkeeping (every message's path).
		r.settle(ctx, hs[0], nil, nil)
		return
	}
	r.settleEach(ctx, hs, err)
}

// heldEnv is h's envelope, for replaygroup.Drop.
func heldEnv(h *held) *stream.Envelope { return &h.env }

// skipReplayed acknowledges h, a replayed copy for another consumer group
// (stream.HeaderReplayGroup), without handling it: streambind dlq replay
// sent it back to the destination for that group only.
func (r *run) skipReplayed(ctx context.Context, h *held) {
	r.c.log.Debug("nats: replayed copy for another group acknowledged without handling", "sequence", h.seq, "replay_group", h.env.Header(stream.HeaderReplayGroup))
	r.settle(ctx, h, nil, nil)
}

// settleEach settles messages each by its own outcome
// (stream.BatchMessageErr(err, i): a batch's, or a part of it). A batch's
// failed messages are settled (dead-lettered) one after the other: those
// behind one held for its dead letter are not settled either, so each
// counts in flight from now until it is.
func (r *run) settleEach(ctx context.Context, hs []*held, err error) {
	errs := make([]error, len(hs))
	failed := 0
	for i := range hs {
		if errs[i] = stream.BatchMessageErr(err, i); errs[i] != nil {
			failed++
		}
	}
	held := dlhold.InFlightEach(r.c.spec.Holding, failed)
	defer held.ReleaseAll()
	j := 0
	for i, h := range hs {
		var release func()
		if errs[i] != nil {
			release = held.Take(j)
			j++
		}
		r.settle(ctx, h, errs[i], release)
	}
}

// clockBase is a fixed instant with a monotonic reading, for monoNow.
var clockBase = time.Now()

// monoNow is the monotonic clock in nanoseconds since clockBase (it goes
// on while the process is stopped, as the server's ack-wait timers do).
func monoNow() int64 { return int64(time.Since(clockBase)) }

// receivedAt is the time (monoNow) a message received now was last known
// alive for: now, unless it may have been delivered while the process
// did not run for ack-wait (stopped, frozen) and been given to another
// member since — then the keeper's last tick before that gap, so that
// dropLapsed leaves it to the redelivery:
//
//   - read before the keeper ran again (it ticks every third of
//     ack-wait and has not for ack-wait);
//   - or among the first prefetch messages read in the third of ack-wait
//     after it noticed the gap. What the server delivered meanwhile (to
//     the pull that was open, at most prefetch messages, JetStream's
//     redeliveries of what this member held among them) waits in the
//     socket and comes first; a fresh message among those first prefetch
//     waits an ack-wait. The bound matters: leaving every message of that
//     third of ack-wait freed room for more, and a resumed member of a
//     re-measure left about max-ack-pending fresh ones while the group
//     stalled for an ack-wait.
func (r *run) receivedAt() int64 {
	now := monoNow()
	if a := r.alive.Load(); now-a >= int64(r.c.ackWait()) {
		return a
	}
	if now < r.graceUntil.Load() && r.graceLeft.Add(-1) >= 0 {
		return r.frozenFrom.Load()
	}
	return now
}

// lapsedAt reports whether h's lease lapsed by at (monoNow): nothing kept
// it alive for ack-wait — its receipt and its last in-progress ack are
// that long ago, which happens when the process did not run (stopped,
// frozen, starved of CPU) —, so JetStream has delivered it again, to
// another member if there is one. Not on its last delivery: JetStream
// would not deliver it again.
func (r *run) lapsedAt(h *held, at int64) bool {
	return at-h.kept.Load() >= int64(r.c.ackWait()) && !r.c.lastDelivery(h) && !r.stale(h)
}

// dropLapsed leaves the messages of hs whose lease lapsed (lapsedAt) to
// JetStream's redelivery instead of handling them, so that they are not
// handled here as well as by the member they went to meanwhile (the
// pause trial: 38 of 120 handled twice after a SIGSTOP past ack-wait).
// It returns the others. A lapsed message that is handled after all (on
// its last delivery, or in flight when the process stopped) is
// acknowledged as usual.
func (r *run) dropLapsed(hs []*held) []*held {
	now := monoNow()
	n := 0
	var kept []*held // made at the first lapsed one: hs is the pool's
	for i, h := range hs {
		if !r.lapsedAt(h, now) {
			if n > 0 {
				kept = append(kept, h)
			}
			continue
		}
		if n == 0 {
			kept = append(make([]*held, 0, len(hs)-1), hs[:i]...)
		}
		n++
		h.gaveBack = true // not settled here: as a Nak for the consumer's re-creation
		r.untrack(h)
	}
	if n == 0 {
		return hs
	}
	// One WARN an ack-wait at most: after a pause every held message
	// lapses at once, one call at a time; it counts them all so far.
	total := r.lapsed.Add(int64(n))
	if last := r.lapseWarned.Load(); (last == 0 || now-last >= int64(r.c.ackWait())) && r.lapseWarned.CompareAndSwap(last, now) {
		r.c.log.Warn("nats: messages held past ack-wait without an in-progress ack (the process did not run: stopped, frozen or starved of CPU) are left to JetStream's redelivery, not handled here: they went to another member meanwhile",
			"ack_wait", r.c.ackWait(), "left_so_far", total)
	}
	return kept
}

// call runs a handler, turning a panic into an error.
func call(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("nats: handler panic: %v", p)
		}
	}()
	return f()
}

// settle acknowledges, naks, dead-letters or drops h after its handler
// returned err (see the package doc). A failed message counts in flight
// until it is settled or given back: the caller counts it (handle:
// dlhold.InFlightEach) and settle calls release as it returns; with
// release nil settle counts a dead-lettered one itself.
func (r *run) settle(ctx context.Context, h *held, err error, release func()) {
	c := r.c
	defer r.untrack(h)
	if release != nil {
		defer release()
	}
	var serr error
	nak := err != nil && (errors.Is(err, stream.ErrNak) || ctx.Err() != nil)
	if r.stale(h) {
		r.settleStale(ctx, h, err, nak)
		return
	}
	if nak && c.lastDelivery(h) {
		// JetStream would not deliver it again after this Nak: it would
		// stay in the stream, unhandled. Dead-letter (or drop) it now.
		err = fmt.Errorf("nats: message %d of stream %s: %w (delivery %d, max-deliver %d): %w", h.seq, c.ref.name, errMaxDeliver, h.n, c.maxDeliver(), err)
		nak = false
		c.log.Warn("nats: message Nak'ed on its last delivery (max-deliver); not delivered again", "sequence", h.seq, "deliveries", h.n, "dlq", c.dlq)
	}
	switch {
	case err == nil:
		serr = h.msg.Ack()
	case nak:
		h.gaveBack = true
		if errors.Is(err, stream.ErrStopping) {
			// Given back for the app's shutdown (its back-off cut short,
			// or held behind one that was): at once, as Stop gives back
			// what it did not start, and in the order of the lane.
			r.awaitIntakeEnd()
			serr = r.nak(h.msg)
		} else if r.pool.Stopping() {
			serr = r.nak(h.msg) // another member may take it now
		} else {
			serr = h.msg.NakWithDelay(c.cs.redeliveryDelay)
		}
	case c.dlq:
		again, wasHeld := r.fewAttempts(ctx), false
		if !c.lastDelivery(h) {
			again = r.holdDeadLetter(ctx, h, &wasHeld)
		}
		// In flight until it is terminated or given back, however long
		// the dead-letter stream refuses its dead letter (deferred: a
		// panic does not leave it counted).
		if release == nil {
			defer dlhold.InFlight(c.spec.Holding, 1)()
		}
		derr := r.deadLetter(ctx, h, err, again)
		if r.stale(h) {
			// Its stream was deleted during the hold: neither a Term nor a
			// Nak may name its sequence on the new one (see stale).
			if derr != nil {
				c.log.Error("nats: dead-lettering a failed message of a stream deleted since failed; the message is lost with its stream", "sequence", h.seq, "dlq", c.dlqSubject, "error", c.bd.logErr(derr), "cause", c.bd.logErr(err))
			}
			return
		}
		if derr != nil {
			if c.lastDelivery(h) {
				// A Nak would lose it (no delivery is left); left
				// unacknowledged, JetStream's max-deliveries advisory
				// brings it back to the binder after ack-wait, which
				// dead-letters it then (see watchMaxDeliveries).
				c.log.Error("nats: dead-lettering failed on the message's last delivery; trying again after ack-wait", "sequence", h.seq, "deliveries", h.n, "error", c.bd.logErr(derr))
				h.gaveBack = true
				return
			}
			// Held until the run stopped (holdDeadLetter): given back at
			// once, so that Stop stays bounded and nothing is lost.
			h.gaveBack = true
			serr = r.nak(h.msg)
			break
		}
		if wasHeld {
			c.log.Info("nats: dead letter sent after it was held; the failed message is terminated", "sequence", h.seq, "dlq", c.dlqSubject)
		}
		serr = h.msg.Term()
	default:
		c.log.Debug("nats: message dropped after a failure (no dlq)", "sequence", h.seq, "error", c.bd.logErr(err))
		serr = h.msg.Term()
	}
	if serr != nil {
		c.log.Debug("nats: settling a message failed; JetStream redelivers it after ack-wait", "sequence", h.seq, "error", c.bd.logErr(serr))
	}
}

// awaitIntakeEnd waits, bounded, until intake has ended: the Stop that
// the app's shutdown makes began and nothing more is pulled. A message
// given back for the shutdown (stream.ErrStopping) is Nak'ed only then:
// Nak'ed while intake still pulled, JetStream could deliver it again to
// this run, behind the messages the run holds after it, and it would be
// given back after them. Nak'ed after intake ended, the Nak is a request
// Stop waits for (nak, confirmBack), as for the messages given back
// after it. Bounded (drainWait plus api-timeout, more than Stop's wait
// for intake): a binding whose Stop does not come is not held up for
// long.
func (r *run) awaitIntakeEnd() {
	t := time.NewTimer(drainWait + r.c.bd.st.apiTimeout)
	defer t.Stop()
	select {
	case <-r.intakeDone:
	case <-t.C:
	}
}

// stale reports whether h was read from a stream that was deleted (and
// made again) since: the run's consumer is the new stream's, and a message
// of the old one must not be settled on it. JetStream's acknowledgements
// name a stream and consumer by name and the message by its sequence, so
// an Ack of the old stream's message 5 acknowledged the new stream's
// message 5 (delivered, its handler still running, or about to Nak it:
// lost). Neither may its sequence count as the new stream's (run.naked).
func (r *run) stale(h *held) bool {
	created := r.created.Load()
	return h.created != created && r.createdOf(h, created) != created
}

// createdOf returns the creation time (unix nanoseconds) of the stream h
// was read from, created being the current stream's: the one h was
// stamped with at receipt (accept), unless JetStream stored h at or after
// created. A member that was not pulling when its stream was deleted
// pulls again from the durable that another member made again with the
// stream (pulls name the durable), before it notices (checkRemade, up to
// configRefresh later): what it receives meanwhile is the new stream's
// although stamped with the old one's creation time, and taking it for
// stale left it handled and never acknowledged — delivered again. Only
// ever the current stream's for a message stamped otherwise (a server
// clock set back could only make it the old one's, as before).
func (r *run) createdOf(h *held, created int64) int64 {
	if h.created != created && h.seq != 0 && !h.ts.IsZero() && h.ts.UnixNano() >= created {
		return created
	}
	return h.created
}

// settleStale settles h, a message of a stream deleted since (see stale),
// without a word to JetStream: the message went with its stream. A
// failure is still dead-lettered (the dead letter is the only copy left).
func (r *run) settleStale(ctx context.Context, h *held, err error, nak bool) {
	c := r.c
	switch {
	case err == nil:
		c.log.Debug("nats: handled a message of a stream deleted since; not acknowledged on the new one", "sequence", h.seq)
	case !nak && c.dlq:
		if derr := r.deadLetter(ctx, h, err, r.fewAttempts(ctx)); derr != nil {
			c.log.Error("nats: dead-lettering a failed message of a stream deleted since failed; the message is lost with its stream", "sequence", h.seq, "dlq", c.dlqSubject, "error", c.bd.logErr(derr), "cause", c.bd.logErr(err))
		}
	default:
		c.log.Warn("nats: a failed message of a stream deleted since is not delivered again: it went with its stream", "sequence", h.seq, "error", c.bd.logErr(err))
	}
}

// errMaxDeliver is the cause of a dead letter whose message has had its
// last delivery (max-deliver).
var errMaxDeliver = errors.New("delivered max-deliver times without being acknowledged")

// lastDelivery reports whether h is on its last delivery: JetStream does
// not deliver it again after a Nak or ack-wait.
func (c *consumer) lastDelivery(h *held) bool {
	md := c.maxDeliver()
	return md > 0 && h.n >= uint64(md)
}

// partitionOf returns the partition of a message of dest by its subject
// (<destination>.<n>), or -1.
func partitionOf(dest, subject string) int {
	rest, ok := strings.CutPrefix(subject, dest+".")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// consumers is a binding of several destinations.
type consumers = binding.Group[*consumer]

// watchMaxDeliveries subscribes to JetStream's max-deliveries advisories
// of the group's consumer, in a queue group of the group's members (one
// member takes each advisory): a message whose last delivery was not
// acknowledged within ack-wait (its member crashed or lost its connection,
// or could not dead-letter it) is not delivered again, so the advisory is
// the binder's only news of it; the member reads it from the stream by
// sequence and dead-letters it. Its dead letter has the same Nats-Msg-Id
// as one sent for that message before, so it is stored once. Without
// permission to subscribe the advisories are not watched (a WARN line);
// Naks on the last delivery are dead-lettered all the same (settle).
func (r *run) watchMaxDeliveries() {
	c := r.c
	r.advMu.Lock()
	watching := r.advisories != nil || r.advStopped
	r.advMu.Unlock()
	if watching {
		return
	}
	subj := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + c.ref.name + "." + c.cfg.Durable
	sub, err := c.conn.nc.QueueSubscribe(subj, "streambind-max-deliver", func(m *natsgo.Msg) { r.maxDelivered(m.Data) })
	if err == nil {
		// The subscription is known to the server before Start returns.
		err = c.conn.nc.FlushTimeout(c.bd.st.apiTimeout)
	}
	if err != nil {
		c.log.Warn("nats: cannot watch max-deliveries advisories; a message whose last delivery is lost stays in the stream, not dead-lettered", "subject", subj, "error", c.bd.logErr(err))
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		return
	}
	r.advMu.Lock()
	defer r.advMu.Unlock()
	if r.advisories != nil || r.advStopped { // a concurrent call, or Stop, came first
		_ = sub.Unsubscribe()
		return
	}
	r.advisories = sub
}

// maxDeliveriesAdvisory is the part of JetStream's
// io.nats.jetstream.advisory.v1.max_deliver the binder reads.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// maxDelivered dead-letters the message of a max-deliveries advisory.
func (r *run) maxDelivered(data []byte) {
	c := r.c
	var a maxDeliveriesAdvisory
	if err := json.Unmarshal(data, &a); err != nil || a.StreamSeq == 0 {
		c.log.Warn("nats: unreadable max-deliveries advisory", "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.intakeCtx, c.bd.st.apiTimeout)
	s, err := c.conn.js.Stream(ctx, c.ref.name)
	var raw *jetstream.RawStreamMsg
	if err == nil {
		raw, err = s.GetMsg(ctx, a.StreamSeq)
	}
	cancel()
	if err != nil {
		c.log.Error("nats: a message reached max-deliver without being acknowledged and cannot be read to dead-letter it", "sequence", a.StreamSeq, "deliveries", a.Deliveries, "error", c.bd.logErr(err))
		return
	}
	h := &held{env: fromMsg(raw.Header, raw.Data), subject: raw.Subject, seq: raw.Sequence, n: a.Deliveries, ts: raw.Time, created: r.created.Load()}
	c.log.Warn("nats: message delivered max-deliver times without being acknowledged; dead-lettering it", "sequence", h.seq, "deliveries", h.n)
	cause := fmt.Errorf("nats: message %d of stream %s: %w (%d deliveries, max-deliver %d; the last was not acknowledged within ack-wait)", h.seq, c.ref.name, errMaxDeliver, h.n, c.maxDeliver())
	if err := r.deadLetter(r.intakeCtx, h, cause, r.fewAttempts(r.intakeCtx)); err != nil {
		c.log.Error("nats: dead-lettering a message that reached max-deliver failed; it stays in the stream", "sequence", h.seq, "dlq", c.dlqSubject, "error", c.bd.logErr(err))
	}
}

// errBatchStopping is what a batch's settler (stream.BatchSettler) returns
// when the consumer began to stop while it settled a failed message: the
// core ends the batch, the rest left for redelivery.
var errBatchStopping = fmt.Errorf("nats: the consumer is stopping: %w", stream.ErrBatchStop)
