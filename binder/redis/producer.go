package redis

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/internal/binding"
	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/binder/internal/msgid"
	"github.com/streambind/streambind/stream"
)

// flushers is how many pipelines a producer has in flight at once.
const flushers = 2

// producer is a producer binding of one destination.
type producer struct {
	bd          *Binder
	c           *goredis.Client
	dest        string
	base        string   // the destination's own stream
	keys        []string // its streams, partitions included, for the trimmer
	binding     string
	contentType string
	ps          producerSettings
	log         *slog.Logger
	backoff     dispatch.Backoff

	queue chan *sendReq
	// ordered is the queue of the ordered lane: SendAsync's requests, and
	// a Send's while SendAsyncs are unanswered (asyncOut), written by one
	// goroutine one pipeline at a time (see orderedWriter).
	ordered chan *sendReq
	// asyncOut counts the SendAsyncs whose done has not been called.
	asyncOut atomic.Int64
	stopC    chan struct{}
	wg       sync.WaitGroup
	// exited is closed once every flusher (the ordered lane's writer
	// included) returned: a send still queued then is never written (see
	// send, SendAsync).
	exited chan struct{}
	once   sync.Once
	// writing counts the sends a flusher took from the queue to write and
	// has not answered yet (see answer): none once stopped means that no
	// flusher waits for Redis, and they only fail what is queued and
	// return (see Close).
	writing atomic.Int64

	// Health (readiness, [stream.BindingHealthChecker]): nil, or why the
	// destination cannot be written to (a key of another type, an ACL
	// refusal).
	binding.State // Health, SetHealth

	gate binding.Gate // sends in progress; closed by Close

	// The arguments every XADD of the destination's own stream starts
	// with (XADD key [MAXLEN ~ n] *), converted to interface values once:
	// Send builds the whole command on the sender's goroutine, so that the
	// flushers (two, for all senders) only queue it.
	baseHead []any

	// Generated message ids: a random prefix per producer and a counter,
	// as the nats binder's (a UUID a message cost a tenth of a send's CPU).
	ids *msgid.Generator // of messages sent without an id
}

// reqPool recycles the requests of sends that received their answer.
var reqPool = sync.Pool{New: func() any { return &sendReq{done: make(chan error, 1)} }}

// sendReq is one Send or SendAsync waiting for its XADD.
type sendReq struct {
	ctx  context.Context
	key  string
	args []any      // the whole XADD command, built by Send (see xaddHead)
	done chan error // a Send's answer; capacity 1
	// cb is SendAsync's done (nil for a Send): the request's answer is
	// passed to it instead of done (see reply).
	cb func(error)
	// SendAsync only: answered is set by whoever calls cb (reply, or
	// unwatch's callback when ctx ends first), so that it is called once;
	// unwatch stops that callback.
	answered atomic.Bool
	unwatch  func() bool
}

var (
	_ stream.Producer             = (*producer)(nil)
	_ stream.AsyncProducer        = (*producer)(nil)
	_ stream.BindingHealthChecker = (*producer)(nil)
)

func (bd *Binder) newProducer(spec stream.ProducerSpec, ps producerSettings, c *goredis.Client) *producer {
	log := spec.Logger // the core's carries the binding's attributes
	if log == nil {
		log = bd.log.With("binding", spec.Binding, "destination", spec.Destination)
	}
	p := &producer{
		bd:          bd,
		c:           c,
		dest:        spec.Destination,
		base:        bd.key(spec.Destination, -1),
		binding:     spec.Binding,
		contentType: spec.ContentType,
		ps:          ps,
		log:         log,
		backoff:     dispatch.Backoff{Initial: 50 * time.Millisecond, Max: time.Second},
		queue:       make(chan *sendReq, 4*ps.batchSize),
		ordered:     make(chan *sendReq, 4*ps.batchSize),
		stopC:       make(chan struct{}),
		exited:      make(chan struct{}),
		ids:         msgid.New(uuid.NewString()),
	}
	p.baseHead = p.xaddHead(p.base)
	p.wg.Add(flushers + 1)
	for range flushers {
		go p.flusher()
	}
	go p.orderedWriter()
	go func() { p.wg.Wait(); close(p.exited) }()
	return p
}

// xaddHead returns the arguments of an XADD to stream key before the
// fields: XADD key, MAXLEN ~ max-length when that is set, and * (the ID).
func (p *producer) xaddHead(key string) []any {
	head := []any{"XADD", key}
	if n := p.bd.st.maxLength; n > 0 {
		head = append(head, "MAXLEN", "~", n)
	}
	return append(head, "*")
}

// keyOf returns the stream of m: the partition's (<destination>:<n>) for
// a message with a valid scst_partition header n, else the destination's.
func (p *producer) keyOf(m stream.Envelope) string {
	if s := m.Headers[stream.HeaderPartition]; s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return p.bd.key(p.dest, n)
		}
	}
	return p.base
}

// Send appends m to its stream (XADD) and returns once Redis answered;
// see the package doc for what that promises. Concurrent sends are
// written together, in pipelines. Errors no retry can fix (a message over
// max-message-size, a key that is not a stream, an ACL refusal) are
// permanent; lost connections and busy or loading servers are retried up
// to send-attempts times with back-off. While SendAsyncs of the producer
// are unanswered, a Send goes behind them, through their ordered lane
// (see SendAsync): SendAsync(m1) then Send(m2) stores m1 before m2.
func (p *producer) Send(ctx context.Context, m stream.Envelope) error {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	if !p.gate.Enter() {
		return closedErr(p.dest)
	}
	defer p.gate.Exit()
	return p.send(ctx, m)
}

// send is Send once it entered the gate. A Close whose context ended
// returns without waiting for it, and the flushers then stop; a send
// that queues its request after their last drain is never written, so it
// waits for its answer or their exit (then: stream.ErrClosed), never for
// ever.
func (p *producer) send(ctx context.Context, m stream.Envelope) error {
	req, err := p.request(ctx, m)
	if err != nil {
		return err
	}
	q := p.queue
	if p.asyncOut.Load() > 0 {
		q = p.ordered // behind the caller's SendAsyncs
	}
	// Queued without a select when there is room (cheaper, once for every
	// send); the waits also end when the flushers exited.
	done := ctx.Done()
	select {
	case q <- req:
	default:
		select {
		case q <- req:
		case <-done:
			return fmt.Errorf("redis: send to %s: %w", req.key, ctx.Err())
		case <-p.exited:
			return closedErr(req.key)
		}
	}
	if done == nil {
		select {
		case err = <-req.done:
		case <-p.exited:
			if err = p.unanswered(req); err != nil {
				return err
			}
		}
	} else {
		select {
		case err = <-req.done:
		case <-p.exited:
			if err = p.unanswered(req); err != nil {
				return err
			}
		case <-done:
			// The XADD may be on the wire already: say so, as a
			// caller retrying would send the entry twice.
			return fmt.Errorf("redis: send to %s: no reply to XADD (it may still have been stored): %w", req.key, ctx.Err())
		}
	}
	*req = sendReq{done: req.done}
	reqPool.Put(req) // the flusher is done with it
	return err
}

// request returns m's request, its whole XADD built, or the permanent
// error of a message over max-message-size.
func (p *producer) request(ctx context.Context, m stream.Envelope) (*sendReq, error) {
	key, args, err := p.xadd(m)
	if err != nil {
		return nil, err
	}
	req := reqPool.Get().(*sendReq)
	req.ctx, req.key, req.args = ctx, key, args
	return req, nil
}

// xadd returns the stream of m and its whole XADD command, or the
// permanent error of a message over max-message-size.
func (p *producer) xadd(m stream.Envelope) (string, []any, error) {
	var ct, id string
	if m.Headers[stream.HeaderContentType] == "" {
		ct = p.contentType
	}
	if m.Headers[stream.HeaderID] == "" {
		id = p.ids.Next()
	}
	if n := encodedSize(m, ct, id); n > p.bd.st.maxMessageSize {
		return "", nil, stream.Permanent(fmt.Errorf("redis: send to %s: message of %d bytes is over max-message-size (%d)", p.dest, n, p.bd.st.maxMessageSize))
	}
	key := p.keyOf(m)
	head := p.baseHead
	if key != p.base {
		head = p.xaddHead(key)
	}
	return key, encodeInto(append(make([]any, 0, len(head)+2*len(m.Headers)+8), head...), m, ct, id), nil
}

// SendAsync is Send without waiting for Redis's answer
// (stream.AsyncProducer, pipelined processing): it builds m's XADD as
// Send does (same checks: a message over max-message-size fails at once,
// permanently; a closed producer with stream.ErrClosed), queues it on the
// producer's ordered lane and returns; done gets what Send would have
// returned, on any goroutine: the lane's, the caller's (a message refused
// before it was queued) or ctx's watcher's (ctx ended first).
//
// The ordered lane is one goroutine that writes one pipeline at a time
// (up to batch-size XADDs, what is queued when the previous pipeline was
// answered) and retries that pipeline's transiently failed XADDs, with
// back-off, up to send-attempts, before it writes the next: messages
// passed one after another from one goroutine are stored in that order
// per stream, also across a lost connection or a busy or loading server
// (a retried XADD whose first reply was lost may be stored twice, the
// copy after the original). A message that failed for good (a permanent
// error, send-attempts used up, its ctx ended) may be followed by later
// ones. (A transient refusal of one XADD of a pipeline whose later XADDs
// were stored — the server's state changing within the pipeline — would
// let them come first; a lost connection fails the rest of the pipeline,
// in order.) A Send issued while SendAsyncs of the producer are
// unanswered takes the ordered lane too, behind them.
//
// SendAsync blocks while the lane's queue (4 × batch-size) is full,
// bounded by ctx (done then gets ctx's error) and by Close. When ctx ends
// before Redis answered (a pipeline in flight, or queued behind one),
// done gets ctx's error then, as Send returns then: the XADD may still be
// stored if it was on the wire; a queued one is not written. Close waits,
// bounded by its ctx, until every SendAsync was answered; when its ctx
// ends first, what is still queued is answered with stream.ErrClosed and
// a pipeline being written with its outcome.
func (p *producer) SendAsync(ctx context.Context, m stream.Envelope, done func(error)) {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	if !p.gate.Enter() {
		done(closedErr(p.dest))
		return
	}
	key, args, err := p.xadd(m)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("redis: send to %s: %w (not sent)", key, ctx.Err())
	}
	if err != nil {
		p.gate.Exit()
		done(err)
		return
	}
	// Counted and in the gate until its done was called. A SendAsync's
	// request is its own (not the pool's): when ctx ends first, done is
	// called then, as Send returns then, while the lane may still hold
	// the request (its pipeline in flight, or queued).
	req := &sendReq{ctx: ctx, key: key, args: args, cb: done}
	p.asyncOut.Add(1)
	if ctx.Done() != nil { // a ctx that cannot end needs no watcher
		req.unwatch = context.AfterFunc(ctx, func() { p.ctxEnded(req) })
	}
	select {
	case p.ordered <- req:
	default:
		select {
		case p.ordered <- req:
		case <-ctx.Done():
			p.reply(req, fmt.Errorf("redis: send to %s: %w", req.key, ctx.Err()))
			return
		case <-p.stopC:
			p.reply(req, closedErr(req.key))
			return
		}
	}
	// Stopped (a Close whose ctx ended) before or while req was queued:
	// nothing is written any more, and req may have come after stop's
	// drain; answered here (ErrClosed) if nobody took it.
	select {
	case <-p.stopC:
		p.drainOrdered()
	default:
	}
}

// closedErr is the error of a send to stream key of a closed producer.
func closedErr(key string) error {
	return fmt.Errorf("redis: send to %s: producer %w", key, stream.ErrClosed)
}

// unanswered is the outcome of req once the flushers exited: the answer
// a flusher gave it before (done has room for it), else stream.ErrClosed
// for a request still queued, never written. The request then stays with
// the queue, out of the pool.
func (p *producer) unanswered(req *sendReq) error {
	select {
	case err := <-req.done:
		return err
	default:
		return closedErr(req.key)
	}
}

// gatherYields bounds the yields of a flusher before it writes a partial
// batch (see flusher); a yield slower than busyYield means the processors
// are busy, and the flusher then writes without yielding for its next
// busyPipelines pipelines.
const (
	gatherYields  = 2
	busyYield     = time.Millisecond
	busyPipelines = 1024
)

// flusher writes what is queued, up to batch-size sends per pipeline.
//
// When its last pipeline carried more than one send (senders are
// concurrent), a flusher that finds the queue empty before the batch is
// full yields its processor (runtime.Gosched) up to gatherYields times
// before it writes: the senders its last pipeline answered are runnable
// but have not queued their next sends yet, and writing without them cut a
// pipeline of 256 concurrent senders into several of ~60 (measured with
// BenchmarkRedisPublish in 4 alternating pairs: 0.84× the raw client
// without the yields, 0.98× with them). A lone sender's send is written at once: its pipelines carry
// one send, so nothing yields. On busy processors a yield waits for other
// goroutines' time slices (milliseconds under CPU-bound load, which an
// adversarial review measured as 4–6× slower sends), so a slow yield
// turns yielding off for the next busyPipelines pipelines.
func (p *producer) flusher() {
	defer p.wg.Done()
	batch := make([]*sendReq, 0, p.ps.batchSize)
	concurrent := false // the last pipeline carried more than one send
	busy := 0           // pipelines to write without yielding
	for {
		select {
		case r := <-p.queue:
			batch = append(batch, r)
		case <-p.stopC:
			p.drain()
			return
		}
		yields := 0
		for len(batch) < p.ps.batchSize {
			select {
			case r := <-p.queue:
				batch = append(batch, r)
				continue
			default:
			}
			if !concurrent || busy > 0 || yields == gatherYields {
				break
			}
			yields++
			t0 := time.Now()
			runtime.Gosched()
			if time.Since(t0) > busyYield {
				busy = busyPipelines
			}
		}
		if busy > 0 {
			busy--
		}
		concurrent = len(batch) > 1
		if !p.writeUnlessStopped(batch, p.queue) {
			return
		}
		clear(batch)
		batch = batch[:0]
	}
}

// writeUnlessStopped writes batch, taken from queue q, and returns true;
// or, when the producer stopped meanwhile, fails batch and what q still
// holds with stream.ErrClosed and returns false: no pipeline starts after
// Close saw no send being written and stopped waiting for the writers.
func (p *producer) writeUnlessStopped(batch []*sendReq, q chan *sendReq) bool {
	p.writing.Add(int64(len(batch)))
	select {
	case <-p.stopC:
		for _, r := range batch {
			p.answer(r, closedErr(r.key))
		}
		p.drainQueue(q)
		return false
	default:
	}
	p.write(batch)
	return true
}

// drain fails what is still queued when the producer stops.
func (p *producer) drain() { p.drainQueue(p.queue) }

// drainOrdered fails what is still queued on the ordered lane.
func (p *producer) drainOrdered() { p.drainQueue(p.ordered) }

func (p *producer) drainQueue(q chan *sendReq) {
	for {
		select {
		case r := <-q:
			p.reply(r, closedErr(r.key))
		default:
			return
		}
	}
}

// answer gives r's Send or SendAsync its outcome; r was taken to be
// written (see writing), which it no longer is once it is answered.
func (p *producer) answer(r *sendReq, err error) {
	p.writing.Add(-1)
	p.reply(r, err)
}

// reply passes err to r's Send, or to its SendAsync's done unless it was
// answered already (its ctx ended first: ctxEnded); the SendAsync leaves
// the gate once its done returned (Close waits for that).
func (p *producer) reply(r *sendReq, err error) {
	if r.cb == nil {
		r.done <- err
		return
	}
	if r.unwatch != nil {
		r.unwatch()
	}
	p.callback(r, err)
}

// ctxEnded answers SendAsync r when its ctx ended before the lane did,
// as Send returns when its ctx ends: r's XADD may be on the wire (a
// pipeline in flight), or still queued (then it is not written: see
// write).
func (p *producer) ctxEnded(r *sendReq) {
	p.callback(r, fmt.Errorf("redis: send to %s: no reply to XADD (it may still have been stored): %w", r.key, r.ctx.Err()))
}

// callback calls SendAsync r's done with err, unless it was called.
func (p *producer) callback(r *sendReq, err error) {
	if !r.answered.CompareAndSwap(false, true) {
		return
	}
	r.cb(err)
	p.asyncOut.Add(-1)
	p.gate.Exit()
}

// orderedWriter writes the ordered lane (see SendAsync): one pipeline at
// a time, of what is queued up to batch-size, each answered — its
// transient failures retried, in order (write) — before the next is
// taken, so nothing queued behind a message is stored before it.
func (p *producer) orderedWriter() {
	defer p.wg.Done()
	batch := make([]*sendReq, 0, p.ps.batchSize)
	for {
		select {
		case r := <-p.ordered:
			batch = append(batch, r)
		case <-p.stopC:
			p.drainOrdered()
			return
		}
	gather:
		for len(batch) < p.ps.batchSize {
			select {
			case r := <-p.ordered:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		if !p.writeUnlessStopped(batch, p.ordered) {
			return
		}
		clear(batch)
		batch = batch[:0]
	}
}

// write sends batch as one pipeline (plus WAIT with wait-replicas) and
// retries the sends that failed transiently, with back-off.
func (p *producer) write(batch []*sendReq) {
	st := p.bd.st
	pending := make([]*sendReq, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			p.answer(r, fmt.Errorf("redis: send to %s: %w", r.key, err))
			continue
		}
		pending = append(pending, r)
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		timeout := st.commandTimeout
		if p.ps.waitReplicas > 0 {
			timeout += p.ps.waitTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		pipe := p.c.Pipeline()
		cmds := make([]*goredis.Cmd, len(pending))
		for i, r := range pending {
			cmds[i] = pipe.Do(ctx, r.args...)
		}
		var wait *goredis.Cmd
		if p.ps.waitReplicas > 0 {
			wait = pipe.Do(ctx, "WAIT", p.ps.waitReplicas, p.ps.waitTimeout.Milliseconds())
		}
		_, _ = pipe.Exec(ctx)
		cancel()
		var werr error
		if wait != nil {
			switch n, err := wait.Int64(); {
			case err != nil:
				werr = fmt.Errorf("WAIT %d replicas: %w", p.ps.waitReplicas, err)
			case n < int64(p.ps.waitReplicas):
				werr = fmt.Errorf("stored, but only %d of %d replicas acknowledged it within wait-timeout (%s); not retried, as a retry would store it twice", n, p.ps.waitReplicas, p.ps.waitTimeout)
			}
		}
		var retry []*sendReq
		var lastErr error
		for i, r := range pending {
			err := cmds[i].Err()
			if err != nil {
				lastErr = err
			}
			switch {
			case err == nil && werr == nil:
				p.SetHealth(nil)
				p.answer(r, nil)
			case err == nil:
				p.answer(r, p.bd.wrap(werr, "redis: send to %s", r.key))
			case isTransient(err) && attempt < p.ps.sendAttempts && r.ctx.Err() == nil:
				retry = append(retry, r)
			case isTransient(err):
				p.answer(r, p.bd.wrap(err, "redis: send to %s: %d attempts", r.key, attempt))
			default:
				err = p.bd.wrap(err, "redis: send to %s", r.key)
				if isPermission(err) || hasPrefix(err, "WRONGTYPE") {
					p.SetHealth(err)
				}
				p.answer(r, stream.Permanent(err))
			}
		}
		pending = retry
		if len(pending) == 0 {
			return
		}
		p.log.Debug("redis: send failed; retrying", "attempt", attempt, "messages", len(pending), "error", p.bd.logErr(lastErr))
		t := time.NewTimer(p.backoff.Delay(attempt))
		select {
		case <-t.C:
		case <-p.stopC:
			t.Stop()
			for _, r := range pending {
				p.answer(r, closedErr(r.key))
			}
			return
		}
	}
}

// Close stops accepting sends and waits, bounded by ctx, for the sends in
// progress, SendAsyncs not answered yet included. It is idempotent.
func (p *producer) Close(ctx context.Context) error {
	already, idle := p.gate.Close()
	if already {
		return nil
	}
	p.bd.forgetProducer(p)
	defer p.stop()
	// Idle first (lifecycle.Wait): with ctx ended as well, a select of
	// both chose at random, and a producer that had sent nothing reported
	// sends still waiting at a shutdown whose time was spent.
	if err := lifecycle.Wait(ctx, idle); err != nil {
		return fmt.Errorf("redis: close producer %s: sends still waiting for Redis: %w", p.binding, err)
	}
	p.stop()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	if err := lifecycle.Wait(ctx, done); err != nil {
		if p.writing.Load() == 0 {
			// No send is being written, and none is now that the
			// producer stopped (see writing): the flushers only fail what
			// is queued (sends that gave up waiting) and return.
			<-done
			return nil
		}
		return fmt.Errorf("redis: close producer %s: a pipeline is still waiting for Redis: %w", p.binding, err)
	}
	return nil
}

// stop ends the flushers and the ordered lane's writer (what is queued
// fails with stream.ErrClosed). The ordered lane's queue is drained here
// at once, not after a pipeline in flight was answered: a SendAsync's
// done is not kept waiting, nor a SendAsync waiting for room.
func (p *producer) stop() {
	p.gate.Close()
	p.once.Do(func() { close(p.stopC) })
	p.drainOrdered()
}
