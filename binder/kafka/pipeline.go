package kafka

import (
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// Pipelined processing (stream.AsyncHandler, consumer.max-in-flight): a
// partition's worker hands its next message to the AsyncHandler while the
// earlier ones are unfinished (their outputs not yet confirmed) — at most
// max-in-flight unfinished at once — and settles the results in offset
// order: the partition is marked processed (committed) only up to the end
// of the contiguous finished prefix, and a failed message is settled
// (retry topic, Nak and redelivery-delay, dead letter or drop: settle, as
// for a Handler's result) when it is the oldest unsettled one. Finished
// messages behind an unfinished one wait for it, unsettled; at most
// 2×max-in-flight messages are unsettled (the worker waits beyond), so
// that one slow message bounds what is held, not just what is in flight.
//
// A concurrency slot covers a message's handler call (the function and
// the hand-over of its output), not the wait for the output's confirm:
// consumer.concurrency still bounds the calls at once across the
// binding's partitions, and a worker waiting for confirms (its window
// full) gives its slot back. A message counts as in flight for Pause
// (run.enter) from its call until its done, so Pause returns only once
// every output of the messages handed out was confirmed or failed.

// pipelined reports whether w hands its messages to the AsyncHandler: the
// core offers it (a function binding whose output sends without waiting,
// max-in-flight above 1), not in batch mode, not under ordering: key
// (keyorder.go's lanes call Handler), not on a retry topic (its messages
// wait until due, one at a time).
func (w *partWorker) pipelined() bool {
	c := w.r.c
	return c.spec.AsyncHandler != nil && c.spec.Consumer.MaxInFlight > 1 &&
		!c.spec.Consumer.BatchMode && !c.cs.orderByKey && !w.retryTopic
}

// PipelineWindow is how many messages of a partition of the destination
// the consumer hands to the AsyncHandler unfinished at most
// (stream.PipelineReporter; a retry topic's partitions are never
// pipelined); 0 when it does not pipeline.
func (c *consumer) PipelineWindow() int {
	if c.spec.AsyncHandler != nil && c.spec.Consumer.MaxInFlight > 1 &&
		!c.spec.Consumer.BatchMode && !c.cs.orderByKey {
		return c.spec.Consumer.MaxInFlight
	}
	return 0
}

// pipe is one partition's messages handed to the AsyncHandler and not yet
// settled, in offset order (a ring). The worker adds at the tail and
// settles from the head; done callbacks, on any goroutine, only record
// their entry's result. It holds at most window unfinished entries and
// 2×window in all; an entry is reused only after its result was taken, so a done never
// finds its entry reused, and one arriving after the worker gave up (the
// wind-down ran out of time) writes to a pipe nobody reads.
type pipe struct {
	r      *run
	window int
	ready  chan struct{} // wakes the worker (capacity 1)

	mu         sync.Mutex
	ring       []*pipeEntry // grown up to 2×window
	head, n    int
	unfinished int  // entries whose done has not come
	waiting    bool // the worker waits for the head to finish
	waitRoom   bool // ... or for an unfinished one to finish (full)
}

// pipeEntry is one message in a pipe.
type pipeEntry struct {
	p   *pipe
	msg kafkago.Message // the worker's only
	// Guarded by p.mu.
	fin bool
	err error
	at  time.Time // when it failed
	// done is the entry's callback (made once: no allocation per
	// message).
	done func(error)
}

func newPipe(r *run, window int) *pipe {
	return &pipe{r: r, window: window, ready: make(chan struct{}, 1), ring: make([]*pipeEntry, min(window, 64))}
}

func (p *pipe) at(k int) *pipeEntry { return p.ring[(p.head+k)%len(p.ring)] }

// full reports whether window messages are unfinished or 2×window
// unsettled.
func (p *pipe) full() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unfinished >= p.window || p.n >= 2*p.window
}

// push adds a copy of m at the tail and returns its entry (not full).
func (p *pipe) push(m *kafkago.Message) *pipeEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == len(p.ring) {
		ring := make([]*pipeEntry, min(2*len(p.ring), 2*p.window))
		for k := range p.n {
			ring[k] = p.at(k)
		}
		p.ring, p.head = ring, 0
	}
	i := (p.head + p.n) % len(p.ring)
	e := p.ring[i]
	if e == nil {
		e = &pipeEntry{p: p}
		e.done = e.finish
		p.ring[i] = e
	}
	e.msg, e.fin, e.err = *m, false, nil
	p.n++
	p.unfinished++
	return e
}

// pushSkip adds a skip mark (fetchtxn.go) at the tail as a finished
// entry: settleHeads marks the partition processed past it in its turn.
// It is not in flight (no handler call, no done).
func (p *pipe) pushSkip(m *kafkago.Message) {
	e := p.push(m)
	p.mu.Lock()
	e.fin = true
	p.unfinished--
	p.mu.Unlock()
}

// pop removes k entries from the head.
func (p *pipe) pop(k int) {
	for range k {
		p.ring[p.head].msg = kafkago.Message{}
		p.head = (p.head + 1) % len(p.ring)
		p.n--
	}
}

// finish is an entry's done: it records the result, wakes the worker if
// it waits for this (the head) entry or for room, and ends the message's
// count in flight (Pause). It never blocks.
func (e *pipeEntry) finish(err error) {
	var at time.Time
	if err != nil {
		at = time.Now()
	}
	p := e.p
	p.mu.Lock()
	e.fin, e.err, e.at = true, err, at
	p.unfinished--
	wakeUp := p.waiting && (p.ring[p.head] == e || p.waitRoom && p.unfinished < p.window)
	if wakeUp {
		p.waiting, p.waitRoom = false, false
	}
	p.mu.Unlock()
	if wakeUp {
		wake(p.ready)
	}
	p.r.leave()
}

// wait waits until the head entry finished, fetched (the fetch queue's
// ready, or nil) fires, with room an unfinished entry finished, or stop
// closes (false).
func (p *pipe) wait(fetched, stop <-chan struct{}, room bool) bool {
	p.mu.Lock()
	if p.n > 0 && p.ring[p.head].fin || room && p.unfinished < p.window && p.n < 2*p.window {
		p.mu.Unlock()
		return true
	}
	p.waiting, p.waitRoom = true, room
	p.mu.Unlock()
	select {
	case <-p.ready:
	case <-fetched:
	case <-stop:
		return false
	}
	return true
}

// runPipelined is the worker's loop when pipelined: it hands the
// partition's messages to the AsyncHandler in offset order while fewer
// than max-in-flight are unsettled, and settles finished ones from the
// head (settleHeads). When the generation winds down it hands out nothing
// more and waits for the outstanding results (drain).
func (w *partWorker) runPipelined(q *fetchQueue) {
	c := w.r.c
	p := newPipe(w.r, c.spec.Consumer.MaxInFlight)
	defer w.drain(p)
	defer w.releaseSlot() // before drain: draining needs no slot
	buf := make([]kafkago.Message, 0, q.capacity)
	i := 0
	for {
		if !w.settleHeads(p) {
			return
		}
		if i == len(buf) {
			clear(buf)
			got, open := false, true
			buf, got, open = q.poll(buf)
			i = 0
			if !open {
				return
			}
			if !got {
				w.releaseSlot() // no waiting with a slot
				if !p.wait(q.ready, w.wctx.Done(), false) {
					return
				}
				continue
			}
		}
		if p.full() {
			w.releaseSlot()
			if !p.wait(nil, w.wctx.Done(), true) {
				return
			}
			continue
		}
		if isSkip(&buf[i]) { // fetchtxn.go: skipped offsets, settled in order
			p.pushSkip(&buf[i])
			buf[i] = kafkago.Message{}
			i++
			continue
		}
		if w.holding && !w.keepSlot(len(buf)-i) {
			w.releaseSlot()
		}
		if !w.acquireSlot() {
			return
		}
		if !w.r.enter(w.wctx) {
			w.releaseSlot()
			return
		}
		e := p.push(&buf[i])
		buf[i] = kafkago.Message{}
		i++
		c.spec.AsyncHandler(w.hctx, w.envelope(&e.msg), e.done)
		w.heldFor++
	}
}

// settleHeads settles the finished messages at the head of p, in offset
// order, and marks the partition processed past them: successes at once,
// a failure through failed (settle; after a Nak the synchronous Handler
// is called for it again, while later messages may already have
// finished). It stops at the first unfinished message; false when the
// generation winds down while settling a failure (the failed message and
// everything after it stay uncommitted, for redelivery).
func (w *partWorker) settleHeads(p *pipe) bool {
	for {
		p.mu.Lock()
		k := 0
		var failed *pipeEntry
		for k < p.n {
			e := p.at(k)
			if !e.fin {
				break
			}
			if e.err != nil {
				failed = e
				break
			}
			k++
		}
		next := int64(-1)
		if k > 0 {
			next = p.at(k-1).msg.Offset + 1
			p.pop(k)
		}
		p.mu.Unlock()
		if next >= 0 {
			w.finished(next)
			w.cm.mark(w.po, next)
		}
		if failed == nil {
			return true
		}
		// failed is the head now; nothing else touches it.
		ms := []kafkago.Message{failed.msg}
		envs := []stream.Envelope{w.envelope(&failed.msg)}
		if !w.failed(ms, envs, failed.err, failed.at) {
			return false
		}
		p.mu.Lock()
		p.pop(1)
		p.mu.Unlock()
		w.finished(ms[0].Offset + 1)
		w.cm.mark(w.po, ms[0].Offset+1)
	}
}

// drain is the wind-down of a pipelined worker: nothing more is handed
// out; it waits for the outstanding results — bounded by the settling
// context (run.sctx: cancelled when a rebalance's wind-down takes half
// the rebalance timeout, or Stop's context ends), not the handlers':
// a result confirmed after those were cancelled (ahead of Stop's
// deadline) is still committed, not handled and sent again — and
// settles the finished contiguous prefix. What is left is not committed
// and is redelivered.
func (w *partWorker) drain(p *pipe) {
	defer w.releaseSlot() // a Handler call after a Nak takes one
	for {
		if !w.settleHeads(p) {
			return
		}
		p.mu.Lock()
		n := p.n
		p.mu.Unlock()
		if n == 0 {
			return
		}
		w.releaseSlot()
		if !p.wait(nil, w.sctx.Done(), false) {
			w.log.Debug("kafka: winding down with pipelined messages unfinished; they are not committed and will be redelivered", "unfinished", n)
			return
		}
	}
}
