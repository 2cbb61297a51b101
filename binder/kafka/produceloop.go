package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	metaapi "github.com/segmentio/kafka-go/protocol/metadata"
	produceapi "github.com/segmentio/kafka-go/protocol/produce"
)

// The producer's loop: one goroutine owns the per-partition queues, builds
// the produce requests, retries or fails what failed; each request runs in
// a goroutine of its own, completes the sends the broker acknowledged and
// hands its outcome back (see [producer]).

const (
	// maxInFlight is the most produce requests in flight per broker (as
	// Kafka's max.in.flight.requests.per.connection); each carries at most
	// one batch per partition.
	maxInFlight = 5
	// metaMaxAge is how long the loop uses the partition count and
	// leaders it read from the transport's metadata cache (itself
	// refreshed every 2s) before reading them again.
	metaMaxAge = 500 * time.Millisecond
	// minRequestBytes bounds the records of one request (together with
	// batch-bytes), far below the broker's socket.request.max.bytes.
	minRequestBytes = 8 << 20

	retryBackoffMin = 50 * time.Millisecond
	retryBackoffMax = time.Second
)

// batch is the records of one partition that go out together.
type batch struct {
	part      int
	reqs      []*sendReq
	attempts  int       // made so far
	notBefore time.Time // of the next attempt, after a failure
	err       error     // the last attempt's outcome
}

// partQ is one partition's queue. At most one batch of a partition is in
// flight or waiting to be retried, so that a later batch never overtakes
// an earlier one.
type partQ struct {
	queue   []*sendReq
	head    int
	bytes   int
	waiting *batch // failed, sent again before anything else
	busy    bool   // a batch is in flight
}

func (q *partQ) len() int { return len(q.queue) - q.head }

func (q *partQ) push(r *sendReq) {
	q.queue = append(q.queue, r)
	q.bytes += r.size
}

// pushFront puts rs back at the head, in order (a split or resent batch).
func (q *partQ) pushFront(rs []*sendReq) {
	rest := q.queue[q.head:]
	nq := make([]*sendReq, 0, len(rs)+len(rest))
	nq = append(append(nq, rs...), rest...)
	q.queue, q.head = nq, 0
	for _, r := range rs {
		q.bytes += r.size
	}
}

// dropAbandoned removes the queued records whose Sends gave up (see
// sendReq.abandoned).
func (q *partQ) dropAbandoned() {
	rest := q.queue[q.head:]
	kept := slices.DeleteFunc(rest, func(r *sendReq) bool {
		if r.gaveUp() {
			q.bytes -= r.size
			return true
		}
		return false
	})
	q.queue = q.queue[:q.head+len(kept)]
	if q.head == len(q.queue) {
		q.queue, q.head = q.queue[:0], 0
	}
}

// gaveUp reports whether r is a Send's record that its Send no longer
// waits for (SendAsync's are always waited for: their done is called).
func (r *sendReq) gaveUp() bool { return r.cb == nil && r.abandoned.Load() }

// take removes the next batch: at most n records and maxBytes bytes (at
// least one record); a record marked alone goes by itself. Records whose
// Sends gave up (see sendReq.abandoned) are dropped rather than sent,
// but for the first, which dispatch found still waited for (see
// skipAbandoned: there is always a batch to send).
func (q *partQ) take(n, maxBytes int) []*sendReq {
	i, size := q.head, 0
	out := make([]*sendReq, 0, min(n, q.len()))
	for i < len(q.queue) && len(out) < n {
		r := q.queue[i]
		if len(out) > 0 && r.gaveUp() {
			q.bytes -= r.size
			i++
			continue
		}
		if len(out) > 0 && (r.alone || size+r.size > maxBytes) {
			break
		}
		size += r.size
		out = append(out, r)
		i++
		if r.alone {
			break
		}
	}
	clear(q.queue[q.head:i])
	q.head = i
	q.bytes -= size
	if q.head == len(q.queue) {
		q.queue, q.head = q.queue[:0], 0
	}
	return out
}

// skipAbandoned drops the records at the head of the queue whose Sends
// gave up, so that the next batch begins with one that is waited for
// (and a batch-timeout counts from it).
func (q *partQ) skipAbandoned() {
	for q.head < len(q.queue) && q.queue[q.head].gaveUp() {
		q.bytes -= q.queue[q.head].size
		q.queue[q.head] = nil
		q.head++
	}
	if q.head == len(q.queue) {
		q.queue, q.head = q.queue[:0], 0
	}
}

// request is one produce request to one broker.
type request struct {
	leader  int32
	batches []*batch
	bytes   int
}

type loop struct {
	p       *producer
	parts   []*partQ
	leaders []int32
	ids     []int // 0..len(parts)-1, for the balancer
	n       int   // the topic's partition count
	metaAt  time.Time
	bal     balancer
	// inflight counts requests in flight per leader.
	inflight map[int32]int
	total    int
	results  chan *request
	timer    *time.Timer
	timerAt  time.Time
	outcome  []error // scratch for observe
}

// run is the producer's loop; it returns when Close was called and
// everything queued has been written or failed.
func (p *producer) run() {
	defer close(p.done)
	l := &loop{p: p, inflight: map[int32]int{}, results: make(chan *request, 16)}
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	defer l.timer.Stop()
	stop := p.stop
	abort := p.abortCtx.Done()
	var taken []*sendReq
	for {
		p.mu.Lock()
		taken, p.pending = p.pending, taken[:0]
		closing := p.closed
		p.mu.Unlock()
		if len(taken) > 0 {
			l.assign(taken)
			clear(taken)
		}
		if err := p.abortCtx.Err(); err != nil {
			l.failQueued(err)
		} else {
			l.dispatch(closing)
		}
		if closing && l.total == 0 && l.queued() == 0 {
			p.mu.Lock()
			n := len(p.pending)
			p.mu.Unlock()
			if n == 0 {
				return
			}
			continue
		}
		select {
		case <-p.wake:
			l.yield()
		case req := <-l.results:
			l.complete(req)
			for more := true; more; {
				select {
				case req := <-l.results:
					l.complete(req)
				default:
					more = false
				}
			}
			// The senders just completed send again now.
			runtime.Gosched()
		case <-l.timer.C:
			l.timerAt = time.Time{}
		case <-stop:
			stop = nil
		case <-abort:
			abort = nil
		}
	}
}

// yield lets the senders that are running queue their next records
// before the loop dispatches, while requests are in flight: without it
// the first of them would go out in a request of its own and the rest in
// the next ones (many small requests, which cost the client and the
// broker per request). A lone send, with nothing in flight, is not held
// up. (After completions the loop yields alike, for the senders it just
// completed.)
func (l *loop) yield() {
	if l.total > 0 {
		runtime.Gosched()
	}
}

// queued returns the records queued or waiting to be retried.
func (l *loop) queued() int {
	n := 0
	for _, q := range l.parts {
		n += q.len()
		if q.waiting != nil {
			n += len(q.waiting.reqs)
		}
	}
	return n
}

// refresh reads the topic's partitions and their leaders from the
// transport's metadata cache when the last reading is older than
// metaMaxAge (or force).
func (l *loop) refresh(force bool) error {
	if !force && len(l.parts) > 0 && time.Since(l.metaAt) < metaMaxAge {
		return nil
	}
	p := l.p
	ctx, cancel := context.WithTimeout(p.abortCtx, p.ps.writeTimeout)
	defer cancel()
	m, err := p.bd.transport.RoundTrip(ctx, p.addr, &metaapi.Request{TopicNames: []string{p.topic}})
	if err != nil {
		return err
	}
	for _, t := range m.(*metaapi.Response).Topics {
		if t.Name != p.topic {
			continue
		}
		if t.ErrorCode != 0 {
			return kafkago.Error(t.ErrorCode)
		}
		n := len(t.Partitions)
		if n == 0 {
			return kafkago.UnknownTopicOrPartition
		}
		for len(l.parts) < n {
			l.parts = append(l.parts, &partQ{})
			l.leaders = append(l.leaders, -1)
		}
		for len(l.ids) < n {
			l.ids = append(l.ids, len(l.ids))
		}
		// Queues are never removed (Kafka never removes partitions):
		// records queued on one are sent however stale the answer.
		l.n = n
		for i := range l.leaders {
			l.leaders[i] = -1
		}
		for _, pt := range t.Partitions {
			if int(pt.PartitionIndex) < len(l.leaders) && pt.PartitionIndex >= 0 {
				l.leaders[pt.PartitionIndex] = pt.LeaderID
			}
		}
		l.metaAt = time.Now()
		return nil
	}
	return kafkago.UnknownTopicOrPartition
}

// assign puts records on their partitions' queues; when the topic's
// partitions are unknown they fail (see fail).
func (l *loop) assign(rs []*sendReq) {
	if err := l.refresh(false); err != nil {
		if err := l.fail(&batch{part: -1, reqs: append([]*sendReq(nil), rs...)}, err); err != nil {
			l.p.observe([]error{err})
		}
		return
	}
	for _, r := range rs {
		part := l.bal.Balance(r.msg, l.ids[:l.n]...)
		l.parts[part].push(r)
	}
}

// dispatch sends, per broker, the next batch of every partition that has
// none in flight as one request, as long as the broker has fewer than
// maxInFlight requests in flight. With a batch-timeout, a partition's
// records wait until the oldest is that old or a batch is full.
func (l *loop) dispatch(closing bool) {
	p := l.p
	if l.metaAt.IsZero() && len(l.parts) > 0 {
		// A failure may mean that leaders moved: group by the latest
		// view (an error here surfaces as the retried batches' own, and
		// the view is read again metaMaxAge later).
		if l.refresh(true) != nil {
			l.metaAt = time.Now()
		}
	}
	now := time.Now()
	var next time.Time // the earliest linger or back-off deadline
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	var reqs []*request
	maxReq := max(p.ps.batchBytes, minRequestBytes)
	for i, q := range l.parts {
		if q.busy {
			continue
		}
		if q.waiting == nil {
			// A Send that gave up while its record was queued (behind a
			// slow batch of its partition, say) is not written after it
			// returned: the caller sends again.
			q.skipAbandoned()
			if q.len() == 0 {
				continue
			}
		}
		if q.waiting != nil && now.Before(q.waiting.notBefore) {
			later(q.waiting.notBefore)
			continue
		}
		if q.waiting == nil && p.ps.batchTimeout > 0 && !closing && q.len() < p.ps.batchSize && q.bytes < p.ps.groupBytes() {
			if due := q.queue[q.head].msg.Time.Add(p.ps.batchTimeout); now.Before(due) {
				later(due)
				continue
			}
		}
		leader := l.leaders[i]
		if leader < 0 {
			// No known leader: a request of its own, so that its failure
			// does not take other partitions' batches with it.
			leader = -2 - int32(i)
		}
		var req *request
		for _, r := range reqs {
			if r.leader == leader && r.bytes < maxReq {
				req = r
				break
			}
		}
		if req == nil {
			if l.inflight[leader] >= maxInFlight {
				continue // the next completion dispatches again
			}
			req = &request{leader: leader}
			l.inflight[leader]++
			l.total++
			reqs = append(reqs, req)
		}
		b := q.waiting
		q.waiting = nil
		if b == nil {
			b = &batch{part: i, reqs: q.take(p.ps.batchSize, p.ps.groupBytes())}
		}
		for _, r := range b.reqs {
			req.bytes += r.size
		}
		q.busy = true
		req.batches = append(req.batches, b)
	}
	for _, req := range reqs {
		go l.send(req)
	}
	if !next.IsZero() && (l.timerAt.IsZero() || next.Before(l.timerAt)) {
		l.timerAt = next
		l.timer.Reset(time.Until(next))
	}
}

// send sends req, completes the sends of the batches that were
// acknowledged and hands req back to the loop with each batch's outcome.
func (l *loop) send(req *request) {
	p := l.p
	attrs := protocol.Attributes(p.ps.compression) & 0x7
	parts := make([]produceapi.RequestPartition, len(req.batches))
	for i, b := range req.batches {
		parts[i] = produceapi.RequestPartition{Partition: int32(b.part), RecordSet: protocol.RecordSet{
			Attributes: attrs, Records: &recordReader{reqs: b.reqs},
		}}
	}
	ctx, cancel := context.WithTimeout(p.abortCtx, p.ps.writeTimeout)
	m, err := p.bd.transport.RoundTrip(ctx, p.addr, &produceapi.Request{
		Acks:    int16(p.ps.acks),
		Timeout: int32(p.ps.writeTimeout.Milliseconds()),
		Topics:  []produceapi.RequestTopic{{Topic: p.topic, Partitions: parts}},
	})
	cancel()
	var res *produceapi.Response
	if err == nil && p.ps.acks != kafkago.RequireNone {
		res, _ = m.(*produceapi.Response)
	}
	acked := false
	for _, b := range req.batches {
		switch {
		case err != nil:
			b.err = err
			for _, r := range b.reqs {
				r.unsettled = true // see sendReq.unsettled
			}
		case p.ps.acks == kafkago.RequireNone:
			b.err = nil
		default:
			b.err = partitionResult(res, p.topic, b.part)
		}
		if b.err == nil && !acked {
			// Before any send returns: the binding is up again.
			acked = true
			if !p.bd.st.autoCreateTopics && p.bd.topicMissing(p.topic) {
				p.bd.setMissing(p.topic, false) // it is back
			}
			p.observe(nil)
		}
		if b.err == nil {
			// Completed here rather than by the loop: the senders go on
			// one hand-off sooner. The partition stays busy until the
			// loop takes the request back.
			for _, r := range b.reqs {
				p.complete(r, nil)
			}
			b.reqs = nil
		}
	}
	l.results <- req
}

// partitionResult is the broker's answer for one partition of a request.
func partitionResult(res *produceapi.Response, topic string, part int) error {
	if res == nil {
		return fmt.Errorf("no produce response: %w", protocol.ErrNoTopic)
	}
	for _, t := range res.Topics {
		if t.Topic != topic {
			continue
		}
		for _, pr := range t.Partitions {
			if int(pr.Partition) == part {
				if pr.ErrorCode == 0 {
					return nil
				}
				err := error(kafkago.Error(pr.ErrorCode))
				if pr.ErrorMessage != "" {
					err = fmt.Errorf("%w: %s", err, pr.ErrorMessage)
				}
				if len(pr.RecordErrors) > 0 {
					// Produce v8: the records at fault (KIP-467).
					re := &recordErrors{err: err, at: make(map[int]string, len(pr.RecordErrors))}
					for _, e := range pr.RecordErrors {
						re.at[int(e.BatchIndex)] = e.BatchIndexErrorMessage
					}
					return re
				}
				return err
			}
		}
	}
	return fmt.Errorf("partition %d missing from the produce response: %w", part, protocol.ErrNoPartition)
}

// recordErrors is a partition batch refused for some of its records: the
// broker's error for the batch, and the records at fault (their index in
// the batch: its error message), as Kafka answers INVALID_RECORD since
// 2.4 (produce v8's RecordErrors). The batch was not written, none of it.
type recordErrors struct {
	err error
	at  map[int]string
}

func (e *recordErrors) Error() string { return e.err.Error() }
func (e *recordErrors) Unwrap() error { return e.err }

// faulty returns the indexes of the records of a batch of n refused
// for err that the broker named as at fault, in order; nil unless err
// names some (recordErrors) and every one of them is within the batch
// and some record is not among them.
func faulty(err error, n int) []int {
	var re *recordErrors
	if !errors.As(err, &re) || len(re.at) == 0 || len(re.at) >= n {
		return nil
	}
	idx := make([]int, 0, len(re.at))
	for i := range re.at {
		if i < 0 || i >= n {
			return nil
		}
		idx = append(idx, i)
	}
	slices.Sort(idx)
	return idx
}

// complete takes a request's outcome: acknowledged batches (whose sends
// send completed) free their partitions, failed ones are retried (first
// in their partition) while attempts and back-off allow, and otherwise
// fail (see fail).
func (l *loop) complete(req *request) {
	p := l.p
	l.inflight[req.leader]--
	if l.inflight[req.leader] <= 0 {
		delete(l.inflight, req.leader)
	}
	l.total--
	l.outcome = l.outcome[:0]
	retried := false
	for _, b := range req.batches {
		q := l.parts[b.part]
		q.busy = false
		if b.err == nil { // its sends were completed by send
			l.outcome = append(l.outcome, nil)
			continue
		}
		b.attempts++
		if retriable(b.err) && b.attempts < p.ps.sendAttempts && p.abortCtx.Err() == nil {
			// Records whose Sends gave up are not retried, nor those
			// queued behind (see sendReq.abandoned): during an outage the
			// partition's next sends do not wait for the retries of ones
			// no one waits for.
			q.dropAbandoned()
			if b.reqs = slices.DeleteFunc(b.reqs, (*sendReq).gaveUp); len(b.reqs) == 0 {
				continue
			}
			d := backoff(b.attempts, retryBackoffMin, retryBackoffMax)
			p.log.Debug("kafka: produce failed; retrying", "partition", b.part, "records", len(b.reqs), "attempt", b.attempts, "backoff", d, "error", p.bd.logErr(b.err))
			b.notBefore = time.Now().Add(d)
			q.waiting = b
			retried = true
			continue
		}
		if err := l.fail(b, b.err); err != nil {
			l.outcome = append(l.outcome, err)
		}
	}
	if retried {
		l.metaAt = time.Time{} // leaders may have moved
	}
	// Successes were observed by send; failures say something only when
	// nothing in the request succeeded (see observe).
	if slices.ContainsFunc(l.outcome, func(e error) bool { return e != nil }) {
		p.observe(l.outcome)
	}
}

// fail ends a batch that failed for good, after a second look at two kinds
// of failure:
//
//   - a refusal of a batch of several records for its records
//     (permanent: MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE, a batch over
//     max.message.bytes; INVALID_RECORD, which the broker answers for the
//     whole batch when any one record is invalid, such as a record
//     without key on a compacted topic): when the broker names the
//     records at fault (produce v8's RecordErrors, Kafka 2.4 on, for
//     INVALID_RECORD), those fail, for good, and the others are sent
//     again as one batch; otherwise each record is sent again alone, so
//     that only those refused by themselves fail, for good;
//   - an unknown topic: with auto-create-topics on, the topic is created
//     again and the records sent once more; with it off, the cluster is
//     asked (not the cache) whether the topic exists, and if it does not,
//     the error is errTopicMissing (refused: transient for the message)
//     and the binding reports itself down until the topic is back (see
//     Health).
//
// It returns the error the sends failed with, nil when they were queued
// again.
func (l *loop) fail(b *batch, err error) error {
	p := l.p
	if bad := faulty(err, len(b.reqs)); bad != nil && b.part >= 0 && permanent(err) && p.abortCtx.Err() == nil {
		// The broker named the records at fault: they fail, the others
		// go again as they were batched, first in their partition.
		var re *recordErrors
		errors.As(err, &re)
		rest := make([]*sendReq, 0, len(b.reqs)-len(bad))
		for i, r := range b.reqs {
			if !slices.Contains(bad, i) {
				rest = append(rest, r)
			}
		}
		for _, i := range bad {
			rerr := re.err
			if msg := re.at[i]; msg != "" {
				rerr = fmt.Errorf("%w (record: %s)", re.err, msg)
			}
			p.log.Warn("kafka: send failed", "messages", 1, "partition", b.part, "error", p.bd.logErr(rerr))
			p.complete(b.reqs[i], rerr)
		}
		l.parts[b.part].pushFront(rest)
		return err
	}
	if len(b.reqs) > 1 && b.part >= 0 && permanent(err) && p.abortCtx.Err() == nil {
		for _, r := range b.reqs {
			r.alone = true
		}
		l.parts[b.part].pushFront(b.reqs)
		return nil
	}
	if unknownTopic(err) && p.abortCtx.Err() == nil {
		if p.bd.st.autoCreateTopics {
			if !b.reqs[0].recreated {
				ctx, cancel := context.WithTimeout(p.abortCtx, p.bd.st.dialTimeout)
				_, perr := p.bd.provision(ctx, p.topic, p.need, p.ps.replicationFactor, p.ps.topicConfigs, false)
				cancel()
				if perr == nil {
					p.log.Info("kafka: the topic was gone; created it again")
					for _, r := range b.reqs {
						r.recreated = true
					}
					if l.refresh(true) == nil {
						if b.part >= 0 && b.part < len(l.parts) {
							l.parts[b.part].pushFront(b.reqs)
						} else {
							l.assign(b.reqs)
						}
						return nil
					}
				} else {
					p.log.Warn("kafka: the topic is gone and creating it again failed", "error", p.bd.logErr(perr))
				}
			}
		} else if exists, cerr := p.bd.topicExists(p.abortCtx, p.topic); cerr == nil && !exists {
			p.bd.setMissing(p.topic, true)
			err = fmt.Errorf("%w: %w", errTopicMissing, err)
		}
	}
	level := slog.LevelWarn
	if refused(err) {
		// observe logs the binding going down, once; the core logs each
		// input it leaves for redelivery.
		level = slog.LevelDebug
	}
	p.log.Log(context.Background(), level, "kafka: send failed", "messages", len(b.reqs), "partition", b.part, "error", p.bd.logErr(err))
	for _, r := range b.reqs {
		p.complete(r, err)
	}
	return err
}

// failQueued fails everything queued or waiting for a retry (Close ran
// out of time).
func (l *loop) failQueued(err error) {
	for _, q := range l.parts {
		if q.waiting != nil {
			for _, r := range q.waiting.reqs {
				l.p.complete(r, err)
			}
			q.waiting = nil
		}
		for _, r := range q.queue[q.head:] {
			l.p.complete(r, err)
		}
		clear(q.queue)
		q.queue, q.head, q.bytes = q.queue[:0], 0, 0
	}
}

// retriable reports whether a produce error is worth another attempt:
// kafka-go's temporary errors and broken connections (as its Writer
// retries), and a request the transport could not route because its view
// of the leaders moved.
func retriable(err error) bool {
	var temp interface{ Temporary() bool }
	if errors.As(err, &temp) && temp.Temporary() {
		return true
	}
	var perr *produceapi.Error // "mismatching leaders", no leader, no partition
	if errors.As(err, &perr) && !errors.Is(err, protocol.ErrNoTopic) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, protocol.ErrNoLeader) || errors.Is(err, protocol.ErrNoPartition)
}

// backoff is kafka-go's Writer's: attempt² × min, at most max.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	return min(time.Duration(attempt*attempt)*lo, hi)
}

// recordReader hands a batch's records to the encoder without copying
// them (as kafka-go's Writer does).
type recordReader struct {
	reqs       []*sendReq
	i          int
	rec        kafkago.Record
	key, value bytesReadCloser
}

func (r *recordReader) ReadRecord() (*kafkago.Record, error) {
	if r.i >= len(r.reqs) {
		return nil, io.EOF
	}
	m := &r.reqs[r.i].msg
	r.i++
	r.rec = kafkago.Record{Time: m.Time, Headers: m.Headers}
	if m.Key != nil {
		r.key.Reset(m.Key)
		r.rec.Key = &r.key
	}
	if m.Value != nil {
		r.value.Reset(m.Value)
		r.rec.Value = &r.value
	}
	return &r.rec, nil
}

type bytesReadCloser struct{ bytes.Reader }

func (*bytesReadCloser) Close() error { return nil }

// recordSize is the size kafka-go's Writer gives a record when it checks
// it against batch-bytes.
func recordSize(m *kafkago.Message) int {
	n := 4 + 1 + 1 + 4 + len(m.Key) + 4 + len(m.Value) + 8
	n += varintLen(int64(len(m.Headers)))
	for _, h := range m.Headers {
		n += varintLen(int64(len(h.Key))) + len(h.Key) + varintLen(int64(len(h.Value))) + len(h.Value)
	}
	return n
}

func varintLen(v int64) int {
	u := uint64((v << 1) ^ (v >> 63))
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}
