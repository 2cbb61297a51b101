package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
	// The key's full path: consumer.ordering is a Kafka property, refused
	// among the common keys (stream.bindings.<b>.consumer).
	log.Warn("kafka: concurrency is above the partitions assigned to this consumer and messages are ordered per partition; the extra handler slots stay idle (set "+
		props.BindingPath(Type, c.spec.Binding, "consumer")+".ordering: key, or stream.kafka.default.consumer.ordering: key for every Kafka binding, to run messages of different keys concurrently)",
		"concurrency", n, "partitions", assigned)
}

// keyedMsg is one message on its way through a lane.
type keyedMsg struct {
	m   kafkago.Message
	seq uint64 // its place in the partition's prefix
	// naks counts its handler calls that ended in a redelivery (Nak, a
	// failure left for redelivery); stored on that path only, read by a
	// stall warning (prefix.warnStall).
	naks atomic.Int32
}

// keyStallWarnAfter is how long a partition's intake under ordering: key
// may wait for room in its window (concurrency × queue-capacity messages
// handed out beyond the unhandled message that holds the committed prefix
// back) before one WARN says which message holds it (prefix.waitRoom).
// Not a setting; tests shorten it (settings.keyStall).
const keyStallWarnAfter = 30 * time.Second

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
//
// When the window stays full for keyStallWarnAfter (the first message
// of ents not handled: a key Nak'ed for ever, a handler that hangs), the
// partition's other keys wait too: one WARN per such wait names that
// message (warnStall).
type prefix struct {
	w      *partWorker
	window chan struct{} // a token per message beyond the prefix
	// The intake goroutine's (add) only: how long a wait for room in the
	// window goes before it warns, and the timer of that wait, made at
	// the first wait and reused.
	stallAfter time.Duration
	stallTimer *time.Timer

	mu   sync.Mutex
	base uint64      // seq of ents[0]
	next uint64      // seq of the next message added
	ents []prefixEnt // the messages from base on
	// hi is one past the highest seq a lane started.
	hi uint64
	// draining: the generation winds down; lanes start only seq < hi.
	// stopped: draining ended (a message was given up).
	draining, stopped bool
	open              int           // added, neither handled nor given up
	idle              chan struct{} // closed when draining and open is 0
}

// prefixEnt is a message of a prefix: its offset, its lane's keyedMsg
// (nil for a skipped offset and once handled: only the first unhandled
// message's is read, by warnStall) and whether it was handled.
type prefixEnt struct {
	off  int64
	km   *keyedMsg
	done bool
}

func newPrefix(w *partWorker, window int) *prefix {
	after := w.r.c.bd.st.keyStall
	if after <= 0 {
		after = keyStallWarnAfter
	}
	return &prefix{w: w, window: make(chan struct{}, window), stallAfter: after, idle: make(chan struct{})}
}

// add registers the message at offset (km: its lane's, nil for a skipped
// offset; its seq is set) as the next message, waiting while the window
// is full; false when stop is closed first.
func (p *prefix) add(offset int64, km *keyedMsg, stop <-chan struct{}) (uint64, bool) {
	select {
	case p.window <- struct{}{}:
	default:
		if !p.waitRoom(stop) {
			return 0, false
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	seq := p.next
	p.next++
	if km != nil {
		km.seq = seq
	}
	p.ents = append(p.ents, prefixEnt{off: offset, km: km})
	p.open++
	return seq, true
}

// waitRoom waits for room in the full window; false when stop is closed
// first. A wait that lasts stallAfter logs one WARN (warnStall); while the
// binding is paused it only looks again after another stallAfter.
func (p *prefix) waitRoom(stop <-chan struct{}) bool {
	if p.stallTimer == nil {
		p.stallTimer = time.NewTimer(p.stallAfter)
	} else {
		p.stallTimer.Reset(p.stallAfter)
	}
	defer p.stallTimer.Stop()
	for {
		select {
		case p.window <- struct{}{}:
			return true
		case <-stop:
			return false
		case <-p.stallTimer.C:
		}
		if p.warnStall() {
			break
		}
		p.stallTimer.Reset(p.stallAfter)
	}
	select {
	case p.window <- struct{}{}:
		return true
	case <-stop:
		return false
	}
}

// warnStall logs that the partition's intake has waited stallAfter for
// room in its window, naming the first unhandled message (ents[0]), which
// holds the committed offset and, through the window, the partition's
// other keys back. False when it did not warn because the binding is
// paused (the lanes wait for Resume; nothing is stuck); it never warns
// while the generation winds down.
func (p *prefix) warnStall() bool {
	w := p.w
	r := w.r
	if w.windingDown() {
		return true
	}
	r.mu.Lock()
	paused := r.paused
	r.mu.Unlock()
	if paused {
		return false
	}
	p.mu.Lock()
	if len(p.ents) == 0 { // handled meanwhile; the window frees now
		p.mu.Unlock()
		return true
	}
	e := p.ents[0]
	p.mu.Unlock()
	c := r.c
	n := c.spec.Consumer.Concurrency
	capacity := max(c.cs.queueCapacity, 1)
	var key []byte
	naks := 0
	if e.km != nil {
		key = e.km.m.Key
		naks = int(e.km.naks.Load())
	}
	state := "its handler call has not returned, or it waits for a handler slot"
	if naks > 0 {
		state = "Nak'ed: handled again after redelivery-delay, again and again"
	}
	w.log.Warn("kafka: ordering key: the partition stalled behind one message: it is the first not handled (offset, key), holding the committed offset back, and concurrency × queue-capacity messages of the partition are handed out beyond it, so the partition's other keys wait until it is handled. For a message that fails for good return an error rather than stream.ErrNak, so that stream.bindings."+c.spec.Binding+".consumer.retry-delays (a retry topic) or stream.bindings."+c.spec.Binding+".consumer.dlq settle it; or raise "+
		props.BindingPath(Type, c.spec.Binding, "consumer")+".queue-capacity to let more of the other keys pass it",
		"topic", w.topic, "offset", e.off, "key", logKey(key), "state", state, "naks", naks,
		"concurrency", n, "queue_capacity", capacity, "waited", p.stallAfter.String())
	return true
}

// logKeyMax is how many bytes of a record key logKey shows: enough to
// find the message, not a whole key (up to the record's size, and
// possibly personal data) in a log line.
const logKeyMax = 32

// logKey is a record key as a log line shows it: quoted text, hex when
// not UTF-8, its first logKeyMax bytes and its size when longer, "none"
// when empty (keyless messages share one lane).
func logKey(k []byte) string {
	if len(k) == 0 {
		return "none"
	}
	more := ""
	if len(k) > logKeyMax {
		more = fmt.Sprintf("… (%d bytes)", len(k))
		cut := k[:logKeyMax]
		// Text cut inside a rune stays text: up to 3 bytes less.
		for i := 0; i < utf8.UTFMax-1 && !utf8.Valid(cut) && utf8.Valid(k); i++ {
			cut = cut[:len(cut)-1]
		}
		k = cut
	}
	if utf8.Valid(k) {
		return fmt.Sprintf("%q", k) + more
	}
	return fmt.Sprintf("0x%x", k) + more
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
	// Its offset is all the prefix needs of it now: the message is not
	// kept while an earlier one holds the prefix back (a stall keeps up
	// to the window's handled messages behind it).
	p.ents[seq-p.base].km = nil
	p.ents[seq-p.base].done = true
	p.close(1)
	k := 0
	for k < len(p.ents) && p.ents[k].done {
		k++
	}
	if k == 0 {
		p.mu.Unlock()
		return
	}
	next := p.ents[k-1].off + 1
	clear(p.ents[:k]) // the lanes' messages are not kept past their handling
	p.ents = p.ents[k:]
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
	// drain waits with the handlers' context only: once it ends, the
	// deferred pool.Stop still waits for the lanes, whose settling
	// (dead letters, retry copies) runs on w.sctx, not w.hctx.
	defer pre.drain(w.hctx)
	buf := make([]kafkago.Message, 0, q.capacity)
	for {
		var ok bool
		if buf, ok = q.take(buf, w.wctx.Done()); !ok {
			return
		}
		for i := range buf {
			if isSkip(&buf[i]) { // fetchtxn.go: skipped offsets, handled as they are
				seq, ok := pre.add(buf[i].Offset, nil, w.wctx.Done())
				if !ok {
					return
				}
				pre.handled(seq)
				continue
			}
			km := &keyedMsg{m: buf[i]}
			if _, ok := pre.add(km.m.Offset, km, w.wctx.Done()); !ok {
				return
			}
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
				km.naks.Add(1)
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
