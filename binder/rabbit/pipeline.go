package rabbit

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambind/streambind/stream"
)

// pipeSlot is a delivery handed to the AsyncHandler and not yet settled.
type pipeSlot struct {
	in     inbound
	env    stream.Envelope
	err    error
	finAt  time.Time   // when done was called
	fin    bool        // its result arrived (worker only)
	called atomic.Bool // done was called (by the handler, or for its panic)
}

// pipeResults is where done calls leave their results for the pipeline
// worker: a list under a lock and a wake-up signal, so that a done never
// blocks — however many results wait (deliveries of a lost channel and its
// successor's can be unsettled together) and also after the worker
// returned (the result is then dropped: the delivery's channel is closed
// by then, and the broker redelivers it).
type pipeResults struct {
	mu   sync.Mutex
	list []*pipeSlot
	wake chan struct{} // capacity 1
}

func (p *pipeResults) put(sl *pipeSlot) {
	p.mu.Lock()
	p.list = append(p.list, sl)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take returns the results waiting, in a slice that buf's storage may
// serve for next time.
func (p *pipeResults) take(buf []*pipeSlot) []*pipeSlot {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.list
	p.list = buf[:0]
	return out
}

// pipeWindow is how many deliveries one worker has the AsyncHandler work
// on at once (handed over, done not yet called): consumer.max-in-flight,
// at most prefetch (the broker delivers no more unacked).
func (r *run) pipeWindow() int { return r.c.PipelineWindow() }

// pipeline is the worker of a consumer with an AsyncHandler (pipelined
// processing, not batch mode). It hands each delivery of q to the
// AsyncHandler while fewer than pipeWindow are unfinished, keeps them in a
// FIFO in delivery order, and settles the finished ones at its head
// through settle, as the sequential worker settles a Handler's result: so
// a delivery is acked only after it and every earlier one of this worker
// finished, and a run of successes goes out as one multiple ack where acks
// are coalesced. A head to be requeued (Nak) is held until redelivery-delay
// after its result came and nacked (requeueLater) before the ones behind
// it are settled.
//
// A finished delivery behind an unfinished one waits in the FIFO (it no
// longer counts toward the window; prefetch bounds the FIFO). Results come
// back through pipeResults, so a done never blocks.
//
// Pause: nothing is handed out while paused, and a delivery counts as
// active (run.active) from its hand-out until it is settled, so Pause
// returns once every handed-out delivery finished and was settled: a
// requeued one nacked (a Pause cuts its redelivery-delay short), a dead
// letter held for a refusing DLQ requeued (deadLetter's hold ends as a
// Pause begins). Stop:
// nothing more is handed out; the worker waits for the outstanding
// results, or until the handlers' context is cancelled (Stop ran out of
// time), settling the FIFO's finished head as results come, and returns;
// the rest is redelivered.
func (r *run) pipeline(q chan inbound) {
	window := r.pipeWindow()
	results := &pipeResults{wake: make(chan struct{}, 1)}
	var fifo, got []*pipeSlot
	unfinished := 0
	// held was taken from q as a Pause began: handed out on Resume (a
	// value, not a pointer: &in would move every delivery to the heap).
	var held inbound
	holding := false

	settleHead := func() {
		for len(fifo) > 0 && fifo[0].fin {
			sl := fifo[0]
			fifo[0] = nil
			fifo = fifo[1:]
			if r.coalesce {
				r.handleStart = time.Now() // no handler time to hold an ack across here
			}
			err := sl.err
			if errors.Is(err, stream.ErrPipelinedSend) && !r.lostSession(sl.in.s) && r.loopCtx.Err() == nil && !r.isPaused() {
				// The output's send failed: the retries it would have had
				// without pipelining, in place (a requeue would spend a
				// broker delivery each, without back-off). Not while
				// pausing or stopping: Pause and Stop wait for the
				// handed-out deliveries, and a window of them each
				// retried in place during an output outage would hold
				// them for max-attempts back-offs apiece; requeued, they
				// come back after Resume.
				err = r.retryInPlace(sl)
			}
			if errors.Is(err, stream.ErrPipelinedSend) && r.lostSession(sl.in.s) {
				// Its consumer channel is gone (before or during the
				// wait for the retry): the broker redelivers it on the
				// new one. Neither a retry in place (its output a
				// duplicate, the new channel's deliveries held up behind
				// it) nor a requeue (a Nack dropped after
				// redelivery-delay).
				r.exit()
				continue
			}
			if r.settle(sl.in, sl.env, err, nil, false) {
				// Handed back before it stops counting as active, so that
				// a Pause returns only once it is (a dead letter held
				// until the Pause began among them); the Pause cuts
				// redelivery-delay short.
				r.requeueLater([]inbound{sl.in}, sl.finAt, r.pauseBegun())
			}
			r.exit()
		}
	}
	// collect takes the results that came and settles the FIFO's
	// finished head.
	collect := func() {
		got = results.take(got)
		for i, sl := range got {
			sl.fin = true
			unfinished--
			got[i] = nil
		}
		settleHead()
	}
	handOut := func(in inbound) {
		if in.s.ch.IsClosed() {
			return // redelivered on the new channel
		}
		if in.grp != nil && in.grp.requeued() {
			// An earlier part of its Spring AMQP batch has the delivery
			// requeued: this one comes again with it, as on the
			// sequential worker (handle). The parts handed out before
			// that requeue are handled all the same (at least once).
			r.ack(in, settleRequeue)
			return
		}
		if !r.tryEnter() {
			if r.loopCtx.Err() == nil {
				held, holding = in, true // paused meanwhile
			}
			return
		}
		if r.coalesce {
			r.flushAcksHeld(time.Time{})
		}
		sl := &pipeSlot{in: in, env: r.envelope(&in.d)}
		r.markRetry(&sl.in.d, sl.env) // retryqueues.go
		fifo = append(fifo, sl)
		unfinished++
		done := func(err error) {
			if sl.called.Swap(true) {
				return
			}
			sl.err, sl.finAt = err, time.Now()
			results.put(sl)
		}
		if in.bad != nil {
			done(in.bad) // not expanded (springbatch.go): failed for good
		} else if err := r.callAsync(sl.env, done); err != nil {
			done(err) // a panic, unless done was called before it
		}
	}

	for {
		// Results first: they free the window and settle acks.
		select {
		case <-results.wake:
			collect()
			continue
		default:
		}
		if r.loopCtx.Err() != nil {
			// Stopping: wait for what was handed out, bounded by the
			// handlers' context.
			if len(fifo) == 0 {
				return
			}
			r.flushAcks()
			select {
			case <-results.wake:
				collect()
			case <-r.ctx.Done():
				return
			}
			continue
		}
		r.mu.Lock()
		paused, resumed := r.paused, r.resumed
		r.mu.Unlock()
		if paused {
			r.flushAcks()
			select {
			case <-results.wake:
				collect()
			case <-resumed:
			case <-r.loopCtx.Done():
			}
			continue
		}
		room := unfinished < window
		if room && holding {
			in := held
			held, holding = inbound{}, false
			handOut(in)
			continue
		}
		var take chan inbound
		if room {
			take = q
			select {
			case in := <-q:
				handOut(in)
				continue
			default:
			}
		}
		r.flushAcks() // nothing ready: the held acks go now
		select {
		case <-results.wake:
			collect()
		case in := <-take:
			handOut(in)
		case <-r.loopCtx.Done():
		}
	}
}

// callAsync calls the AsyncHandler, turning a panic into an error (as
// call does, without a closure a message).
func (r *run) callAsync(env stream.Envelope, done func(error)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rabbit: handler panic: %v", p)
		}
	}()
	r.c.spec.AsyncHandler(r.ctx, env, done)
	return nil
}

// pauseBegun returns a channel closed once a Pause is in effect (closed
// already if one is).
func (r *run) pauseBegun() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pausing
}

// tryEnter counts a handler call unless paused or stopping (the pipeline's
// enter, which must not wait: results keep coming meanwhile).
func (r *run) tryEnter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused || r.loopCtx.Err() != nil {
		return false
	}
	r.active++
	return true
}

// retryInPlace handles a delivery whose pipelined output send failed
// again with the Handler (the core retries it as configured), once
// redelivery-delay passed since its result came; its result is the
// Handler's, or the Nak when the consumer stops first.
func (r *run) retryInPlace(sl *pipeSlot) error {
	r.flushAcks() // not held through the wait and the retries
	if d := r.c.opts.redeliveryDelay - time.Since(sl.finAt); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.loopCtx.Done():
			t.Stop()
			return sl.err
		}
		if r.lostSession(sl.in.s) {
			return sl.err // lost meanwhile: redelivered (settleHead)
		}
	}
	return r.call(func() error { return r.c.spec.Handler(r.ctx, sl.env) })
}

// PipelineWindow is how many deliveries each worker hands to the
// AsyncHandler unfinished at most, min(max-in-flight, prefetch)
// (stream.PipelineReporter); 0 when it does not pipeline.
func (c *consumer) PipelineWindow() int {
	if c.spec.AsyncHandler == nil || c.spec.Consumer.BatchMode {
		return 0
	}
	n := c.spec.Consumer.MaxInFlight
	if n <= 0 {
		n = stream.DefaultMaxInFlight
	}
	return max(1, min(n, c.opts.prefetch))
}

// lostSession reports whether s is no longer the run's consumer channel
// (closed, or replaced): its deliveries cannot be settled (ack drops
// their settlements) and the broker redelivers them.
func (r *run) lostSession(s *chanSession) bool {
	return r.session.Load() != s || s.ch.IsClosed()
}

// isPaused reports whether a Pause is in effect.
func (r *run) isPaused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}
