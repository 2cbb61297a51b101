package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Ordering (consumer.ordering) says which messages of a partition are
// handled one at a time and in offset order.
const (
	// orderPartition: every message of a partition (the default).
	orderPartition = "partition"
	// orderKey: the messages of a partition that share a key; messages of
	// different keys run concurrently, up to consumer.concurrency.
	orderKey = "key"
)

// decodeOrdering decodes consumer.ordering.
func decodeOrdering(v any) (bool, error) {
	s, err := str(v)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(s) {
	case orderPartition:
		return false, nil
	case orderKey:
		return true, nil
	}
	return false, fmt.Errorf("want %s or %s, got %q", orderPartition, orderKey, s)
}

// checkOrdering refuses ordering: key where it cannot apply.
func checkOrdering(spec stream.ConsumerSpec, cs consumerSettings) error {
	if cs.orderByKey && spec.Consumer.BatchMode {
		return fmt.Errorf("%s: ordering key is not supported with batch-mode (a batch is one partition's messages in order); remove one of them",
			props.BindingPath(Type, spec.Binding, "consumer")+".ordering")
	}
	return nil
}

// keyed reports whether w hands its partition's messages to lanes by key
// (ordering: key). Retry topics keep per-partition order: their messages
// wait until due, in order.
func (w *partWorker) keyed() bool {
	c := w.r.c
	return c.cs.orderByKey && !c.spec.Consumer.BatchMode && !w.retryTopic && c.spec.Consumer.Concurrency > 1
}

// warnIdleConcurrency logs once per run (Start) that concurrency is above
// the partitions assigned to it while a partition's messages are handled
// one at a time: the extra handler slots stay idle.
func (r *run) warnIdleConcurrency(assignments map[string][]kafkago.PartitionAssignment, log *slog.Logger) {
	c := r.c
	n := c.spec.Consumer.Concurrency
	assigned := 0
	for _, ps := range assignments {
		assigned += len(ps)
	}
	if n <= 1 || assigned >= n || (c.cs.orderByKey && !c.spec.Consumer.BatchMode) {
		return
	}
	if r.warnedIdle.Swap(true) {
		return
	}
	log.Warn("kafka: concurrency is above the partitions assigned to this consumer and messages are ordered per partition; the extra handler slots stay idle (set consumer.ordering: key to run messages of different keys concurrently)",
		"concurrency", n, "partitions", assigned)
}

// keyedMsg is one message on its way through a lane.
type keyedMsg struct {
	m   kafkago.Message
	seq uint64 // its place in the partition's prefix
}

// prefix tracks, for one partition under ordering: key, the messages
// handed to lanes in offset order and which of them were handled; the
// partition is marked processed up to the end of the contiguous handled
// prefix only, so a commit never passes an unhandled message. window
// bounds the messages beyond the prefix.
//
// When the generation winds down (Stop, a rebalance) the lanes go on
// with the messages that are gaps in the prefix: those before the last
// message a lane started. Were they left, the commit would stop at the
// first of them and every message handled after it would come again to
// the next owner of the partition; handling them (bounded by the
// handlers' context, which Stop's deadline or half of rebalance-timeout
// ends) lets the commit pass everything handled. Nothing past the last
// started message is started, and the first message given up instead
// (a failure that would be retried, the handlers' context ending, a
// pause) ends the draining, so that no lane handles a message after one
// of its key that was given up.
type prefix struct {
	w      *partWorker
	window chan struct{} // a token per message beyond the prefix

	mu   sync.Mutex
	base uint64  // seq of offs[0]
	next uint64  // seq of the next message added
	offs []int64 // offsets from base on
	done []bool  // handled, from base on
	// hi is one past the highest seq a lane started.
	hi uint64
	// draining: the generation winds down; lanes start only seq < hi.
	// stopped: draining ended (a message was given up).
	draining, stopped bool
	open              int           // added, neither handled nor given up
	idle              chan struct{} // closed when draining and open is 0
}

func newPrefix(w *partWorker, window int) *prefix {
	return &prefix{w: w, window: make(chan struct{}, window), idle: make(chan struct{})}
}

// add registers m as the next message, waiting while the window is full;
// false when stop is closed first.
func (p *prefix) add(offset int64, stop <-chan struct{}) (uint64, bool) {
	select {
	case p.window <- struct{}{}:
	case <-stop:
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	seq := p.next
	p.next++
	p.offs = append(p.offs, offset)
	p.done = append(p.done, false)
	p.open++
	return seq, true
}

// start reports whether a lane may call the handler for seq and whether
// it does so draining (the generation winds down: see prefix). While the
// generation runs every message may start.
func (p *prefix) start(seq uint64) (ok, draining bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.draining && p.w.windingDown() {
		p.draining = true
	}
	if p.draining {
		return !p.stopped && seq < p.hi, true
	}
	p.hi = max(p.hi, seq+1)
	return true, false
}

// giveUp records that n messages were given up (not handled): they stay
// uncommitted for the partition's next owner; draining ends.
func (p *prefix) giveUp(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.close(n)
}

// leave records that n messages, none of them a gap of the prefix, are
// left for the partition's next owner while draining.
func (p *prefix) leave(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.close(n)
}

// close counts n added messages as settled. The caller holds p.mu.
func (p *prefix) close(n int) {
	p.open -= n
	if p.open == 0 && p.draining {
		select {
		case <-p.idle:
		default:
			close(p.idle)
		}
	}
}

// drain marks the generation winding down and waits until every message
// added was handled or given up, or ctx (the handlers') ends.
func (p *prefix) drain(ctx context.Context) {
	p.mu.Lock()
	p.draining = true
	p.close(0)
	p.mu.Unlock()
	select {
	case <-p.idle:
	case <-ctx.Done():
	}
}

// handled records that the message seq was handled (acknowledged,
// dead-lettered, parked or dropped) and moves the prefix over it and any
// handled messages after it.
func (p *prefix) handled(seq uint64) {
	p.mu.Lock()
	p.done[seq-p.base] = true
	p.close(1)
	k := 0
	for k < len(p.done) && p.done[k] {
		k++
	}
	if k == 0 {
		p.mu.Unlock()
		return
	}
	next := p.offs[k-1] + 1
	p.offs, p.done = p.offs[k:], p.done[k:]
	p.base += uint64(k)
	// Marked under the lock: lanes finishing together must not mark
	// out of order (the prefix only grows).
	p.w.finished(next)
	p.w.cm.mark(p.w.po, next)
	p.mu.Unlock()
	for range k {
		<-p.window
	}
}

// runKeyed takes the partition's messages from q in offset order and
// hands each to a lane of a dispatch pool by its key: messages of one key
// (and all keyless messages) go to one lane, in order; up to concurrency
// lanes run at once across the binding's partitions (the run's slots).
// When the generation winds down it takes nothing more and returns once
// the lanes handled the gaps in the partition's prefix (see prefix) or
// the handlers' context ended; the rest of what was queued in lanes is
// not handled, and not committed (the prefix stops before it).
func (w *partWorker) runKeyed(q *fetchQueue) {
	c := w.r.c
	n := c.spec.Consumer.Concurrency
	capacity := max(c.cs.queueCapacity, 1)
	pre := newPrefix(w, n*capacity)
	pool := dispatch.New(dispatch.Options[*keyedMsg]{
		Workers:  n,
		QueueLen: capacity,
		Handle: func(_ context.Context, items []*keyedMsg) {
			for i, km := range items {
				switch w.deliverKeyed(pre, km) {
				case keyedHandled:
					pre.handled(km.seq)
					continue
				case keyedNotGap:
					// Nor are the lane's later messages.
					pre.leave(len(items) - i)
				default:
					pre.giveUp(len(items) - i)
				}
				return
			}
		},
	})
	defer func() { _ = pool.Stop(context.Background()) }() // the calls in flight end with the handlers' context
	defer pre.drain(w.hctx)
	buf := make([]kafkago.Message, 0, q.capacity)
	for {
		var ok bool
		if buf, ok = q.take(buf, w.wctx.Done()); !ok {
			return
		}
		for i := range buf {
			seq, ok := pre.add(buf[i].Offset, w.wctx.Done())
			if !ok {
				return
			}
			if isSkip(&buf[i]) { // fetchtxn.go: skipped offsets, handled as they are
				pre.handled(seq)
				continue
			}
			km := &keyedMsg{m: buf[i], seq: seq}
			if !pool.Submit(w.wctx, laneRoute(km.m.Key), km) {
				pre.giveUp(1)
				return
			}
		}
		clear(buf)
	}
}

// laneRoute is the dispatch route of a key: keyless messages share one
// lane (kept in order), since nothing says they are independent.
func laneRoute(key []byte) string {
	if len(key) == 0 {
		return "n"
	}
	return "k" + string(key)
}

// keyedOutcome is what became of a message of a lane.
type keyedOutcome int

const (
	keyedHandled keyedOutcome = iota
	// keyedNotGap: not started, the generation winds down and it is not a
	// gap of the prefix.
	keyedNotGap
	// keyedGivenUp: not handled for another reason (draining ended, the
	// handlers' context ended, paused, a failure that would be retried).
	keyedGivenUp
)

// deliverKeyed handles one message of a lane as deliver does (Nak:
// again after redelivery-delay, holding back the lane; failure: the
// dead-letter topic or dropped; DelayedRetry: a retry topic), taking a
// concurrency slot for each handler call. When the generation winds down
// it handles only the gaps of the prefix (see prefix), as the wind-down
// allows.
func (w *partWorker) deliverKeyed(pre *prefix, km *keyedMsg) keyedOutcome {
	r := w.r
	c := r.c
	m := &km.m
	env := envelope(m) // not interned: lanes run concurrently
	env.Received = w.received(m)
	for {
		// The handlers' context bounds the wait: a gap is handled after
		// intake stopped (wctx), while Stop or a rebalance allows.
		select {
		case r.slots <- struct{}{}:
		case <-w.hctx.Done():
			return keyedGivenUp
		}
		if o := w.enterKeyed(pre, km.seq); o != keyedHandled {
			<-r.slots
			return o
		}
		err := c.spec.Handler(w.hctx, env)
		r.leave()
		<-r.slots
		if err != nil {
			// The failure path only: the slices are made when needed.
			switch w.settle([]kafkago.Message{*m}, []stream.Envelope{env}, err, true, c.cs.redeliveryDelay) {
			case again:
				continue
			case windDown:
				return keyedGivenUp
			}
		}
		return keyedHandled
	}
}

// enterKeyed counts a handler call of message seq in flight if the
// message may start (prefix.start): while the generation runs, after
// waiting while the binding is paused; draining, at once unless paused.
// keyedHandled means it entered.
func (w *partWorker) enterKeyed(pre *prefix, seq uint64) keyedOutcome {
	r := w.r
	ok, draining := pre.start(seq)
	if !draining && r.enter(w.wctx) {
		return keyedHandled
	}
	if !draining {
		// The wind-down began while it waited: seq < hi now (start
		// raised hi), a gap if a later message started.
		ok, _ = pre.start(seq)
	}
	if !ok {
		return keyedNotGap
	}
	if !r.enterDraining(w.hctx) {
		return keyedGivenUp
	}
	return keyedHandled
}
