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
	stopC chan struct{}
	wg    sync.WaitGroup
	// exited is closed once every flusher returned: a send still queued
	// then is never written (see send).
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

// sendReq is one Send waiting for its XADD.
type sendReq struct {
	ctx  context.Context
	key  string
	args []any      // the whole XADD command, built by Send (see xaddHead)
	done chan error // capacity 1
}

var (
	_ stream.Producer             = (*producer)(nil)
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
		stopC:       make(chan struct{}),
		exited:      make(chan struct{}),
		ids:         msgid.New(uuid.NewString()),
	}
	p.baseHead = p.xaddHead(p.base)
	p.wg.Add(flushers)
	for range flushers {
		go p.flusher()
	}
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
// to send-attempts times with back-off.
func (p *producer) Send(ctx context.Context, m stream.Envelope) error {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	if !p.gate.Enter() {
		return fmt.Errorf("redis: send to %s: producer %w", p.dest, stream.ErrClosed)
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
	var ct, id string
	if m.Headers[stream.HeaderContentType] == "" {
		ct = p.contentType
	}
	if m.Headers[stream.HeaderID] == "" {
		id = p.ids.Next()
	}
	if n := encodedSize(m, ct, id); n > p.bd.st.maxMessageSize {
		return stream.Permanent(fmt.Errorf("redis: send to %s: message of %d bytes is over max-message-size (%d)", p.dest, n, p.bd.st.maxMessageSize))
	}
	req := reqPool.Get().(*sendReq)
	req.ctx, req.key = ctx, p.keyOf(m)
	head := p.baseHead
	if req.key != p.base {
		head = p.xaddHead(req.key)
	}
	req.args = encodeInto(append(make([]any, 0, len(head)+2*len(m.Headers)+8), head...), m, ct, id)
	// Queued without a select when there is room (cheaper, once for every
	// send); the waits also end when the flushers exited.
	done := ctx.Done()
	select {
	case p.queue <- req:
	default:
		select {
		case p.queue <- req:
		case <-done:
			return fmt.Errorf("redis: send to %s: %w", req.key, ctx.Err())
		case <-p.exited:
			return fmt.Errorf("redis: send to %s: producer %w", req.key, stream.ErrClosed)
		}
	}
	var err error
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

// unanswered is the outcome of req once the flushers exited: the answer
// a flusher gave it before (done has room for it), else stream.ErrClosed
// for a request still queued, never written. The request then stays with
// the queue, out of the pool.
func (p *producer) unanswered(req *sendReq) error {
	select {
	case err := <-req.done:
		return err
	default:
		return fmt.Errorf("redis: send to %s: producer %w", req.key, stream.ErrClosed)
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
		p.writing.Add(int64(len(batch)))
		select {
		case <-p.stopC:
			// Stopped meanwhile: no pipeline starts after Close saw no
			// send being written and stopped waiting for the flushers.
			for _, r := range batch {
				p.answer(r, fmt.Errorf("redis: send to %s: producer %w", r.key, stream.ErrClosed))
			}
			p.drain()
			return
		default:
		}
		p.write(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// drain fails what is still queued when the producer stops.
func (p *producer) drain() {
	for {
		select {
		case r := <-p.queue:
			r.done <- fmt.Errorf("redis: send to %s: producer %w", r.key, stream.ErrClosed)
		default:
			return
		}
	}
}

// answer gives r's Send its outcome; r was taken to be written (see
// writing), which it no longer is once its Send can return.
func (p *producer) answer(r *sendReq, err error) {
	p.writing.Add(-1)
	r.done <- err
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
				p.answer(r, fmt.Errorf("redis: send to %s: producer %w", r.key, stream.ErrClosed))
			}
			return
		}
	}
}

// Close stops accepting sends and waits, bounded by ctx, for the sends in
// progress. It is idempotent.
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

// stop ends the flushers (what is queued fails with stream.ErrClosed).
func (p *producer) stop() {
	p.gate.Close()
	p.once.Do(func() { close(p.stopC) })
}
