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
type prefix struct {
	w      *partWorker
	window chan struct{} // a token per message beyond the prefix

	mu   sync.Mutex
	base uint64  // seq of offs[0]
	next uint64  // seq of the next message added
	offs []int64 // offsets from base on
	done []bool  // handled, from base on
}

func newPrefix(w *partWorker, window int) *prefix {
	return &prefix{w: w, window: make(chan struct{}, window)}
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
	return seq, true
}

// handled records that the message seq was handled (acknowledged,
// dead-lettered, parked or dropped) and moves the prefix over it and any
// handled messages after it.
func (p *prefix) handled(seq uint64) {
	p.mu.Lock()
	p.done[seq-p.base] = true
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
// It returns when the generation winds down, after the lanes' calls in
// flight returned; what was queued in lanes is not handled, and not
// committed (the prefix stops before it).
func (w *partWorker) runKeyed(q *fetchQueue) {
	c := w.r.c
	n := c.spec.Consumer.Concurrency
	capacity := max(c.cs.queueCapacity, 1)
	pre := newPrefix(w, n*capacity)
	pool := dispatch.New(dispatch.Options[*keyedMsg]{
		Workers:  n,
		QueueLen: capacity,
		Handle: func(_ context.Context, items []*keyedMsg) {
			for _, km := range items {
				if !w.deliverKeyed(&km.m) {
					return
				}
				pre.handled(km.seq)
			}
		},
	})
	defer func() { _ = pool.Stop(context.Background()) }() // the calls in flight end with the handlers' context
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
			km := &keyedMsg{m: buf[i], seq: seq}
			if !pool.Submit(w.wctx, laneRoute(km.m.Key), km) {
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

// deliverKeyed handles one message of a lane as deliver does (Nak:
// again after redelivery-delay, holding back the lane; failure: the
// dead-letter topic or dropped; DelayedRetry: a retry topic), taking a
// concurrency slot for each handler call. It reports whether the message
// was handled; false when the generation winds down first.
func (w *partWorker) deliverKeyed(m *kafkago.Message) bool {
	r := w.r
	c := r.c
	env := envelope(m) // not interned: lanes run concurrently
	for {
		select {
		case r.slots <- struct{}{}:
		case <-w.wctx.Done():
			return false
		}
		if !r.enter(w.wctx) {
			<-r.slots
			return false
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
				return false
			}
		}
		return true
	}
}
