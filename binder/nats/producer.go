package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/streambind/streambind/binder/internal/binding"
	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/binder/internal/msgid"
	"github.com/streambind/streambind/internal/pace"
	"github.com/streambind/streambind/stream"
)

// producer is a producer binding of one destination.
type producer struct {
	bd          *Binder
	c           *connection
	dest        string
	binding     string
	contentType string
	ps          producerSettings
	log         *slog.Logger
	ref         atomic.Pointer[streamRef]
	backoff     dispatch.Backoff
	// Generated message ids: a unique prefix per producer and a counter
	// (cheaper than a UUID per message, and as unique).
	ids *msgid.Generator // of messages sent without an id

	// Health (readiness, [stream.BindingHealthChecker]): nil, or why the
	// destination cannot be sent to (its stream is gone and cannot be made
	// again).
	binding.State // Health, SetHealth

	gate binding.Gate // sends in progress (a SendAsync until its done ran); closed by Close

	// SendAsync: room holds a token for each SendAsync between its wait
	// for room and its done (at most asyncWindow); queue takes the
	// published ones, in publish order, to awaitAcks, the producer's one
	// goroutine waiting for their PubAcks (started by the first SendAsync,
	// ended by Close once idle).
	async sync.Once
	room  chan struct{}
	queue chan asyncSend

	// Sends JetStream acknowledged as a duplicate that were not the
	// binder's own retry (stream.SendStats.Duplicates), and the pacing of
	// their WARN.
	duplicates atomic.Int64
	dupWarn    pace.Gate
}

var (
	_ stream.Producer             = (*producer)(nil)
	_ stream.AsyncProducer        = (*producer)(nil)
	_ stream.BindingHealthChecker = (*producer)(nil)
	_ stream.SendReporter         = (*producer)(nil)
)

// SendStats implements [stream.SendReporter].
func (p *producer) SendStats() stream.SendStats {
	return stream.SendStats{Duplicates: p.duplicates.Load()}
}

// duplicate counts and reports (a paced WARN) a send JetStream did not
// store because a message with its Nats-Msg-Id, the id header, is in the
// stream's duplicate window, when it was not the binder's retry of an
// attempt that may have been stored: a different message that reuses an
// id is lost there, and the Send succeeded.
func (p *producer) duplicate(id string, ref *streamRef) {
	p.duplicates.Add(1)
	ok, suppressed := p.dupWarn.Allow(time.Now())
	if !ok {
		return
	}
	p.log.Warn("nats: JetStream did not store a message: its id (Nats-Msg-Id) repeats one stored within the stream's duplicate-window: either this message sent again (a resend after an error, which is harmless) or a different message reusing an id, which is dropped (give each message its own id header)",
		"id", id, "stream", ref.name, "duplicate_window", ref.duplicates.String(), "suppressed", suppressed)
}

func (bd *Binder) newProducer(spec stream.ProducerSpec, ps producerSettings, c *connection, ref *streamRef) *producer {
	log := spec.Logger // the core's carries the binding's attributes
	if log == nil {
		log = bd.log.With("binding", spec.Binding, "destination", spec.Destination)
	}
	p := &producer{
		bd:          bd,
		c:           c,
		dest:        spec.Destination,
		binding:     spec.Binding,
		contentType: spec.ContentType,
		ps:          ps,
		log:         log,
		backoff:     dispatch.Backoff{Initial: 50 * time.Millisecond, Max: time.Second},
		ids:         msgid.New(nuid.Next()),
	}
	p.ref.Store(ref)
	return p
}

// subject returns the subject of m: <destination>.<n> for a message with
// a valid scst_partition header n, else the destination.
func (p *producer) subject(m stream.Envelope) string {
	if s := m.Headers[stream.HeaderPartition]; s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return p.dest + "." + strconv.Itoa(n)
		}
	}
	return p.dest
}

// Send publishes m and returns once JetStream stored it (its PubAck), with
// Nats-Msg-Id set to the message's id header, so that the retries of a
// send (after a timeout or a lost connection) are not stored twice within
// the stream's duplicate window. Errors no retry can fix (a message over
// the server's max_payload or the stream's max-msg-size, a header NATS
// cannot carry) are permanent.
func (p *producer) Send(ctx context.Context, m stream.Envelope) error {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	if !p.gate.Enter() {
		return p.closedErr()
	}
	defer p.gate.Exit()
	msg, id, err := p.prepare(ctx, m)
	if err != nil {
		return err
	}
	return sendErr(p.publish(ctx, msg, id, p.ps.sendAttempts), msg.Header, m.Key)
}

// closedErr is a send's error on a closed producer.
func (p *producer) closedErr() error {
	return fmt.Errorf("nats: send to %s: producer %w", p.dest, stream.ErrClosed)
}

// prepare is the message Send and SendAsync publish for m, and its
// Nats-Msg-Id; an error (a header NATS cannot carry, a message larger
// than its stream's max-bytes) is permanent.
func (p *producer) prepare(ctx context.Context, m stream.Envelope) (*natsgo.Msg, string, error) {
	h, id, err := toHeader(m, p.contentType, p.ids.Next)
	if err != nil {
		return nil, "", stream.Permanent(fmt.Errorf("nats: send to %s: %w", p.dest, err))
	}
	msg := &natsgo.Msg{Subject: p.subject(m), Header: h, Data: m.Payload}
	if err := p.checkMaxBytes(ctx, msg, id); err != nil {
		return nil, "", err
	}
	return msg, id, nil
}

// sendErr is what a send of msg (header h; its message's key) whose
// publish returned err returns.
func sendErr(err error, h natsgo.Header, key []byte) error {
	if err != nil && apiCode(err) == errCodeHeaderTooLarge {
		err = headerTooLarge(err, h, key)
	}
	return err
}

// asyncWindow is the most PubAcks a producer's JetStream context waits
// for at once (jetStream), and the most SendAsyncs of a producer between
// their wait for room and their done: SendAsync waits for room on its
// own, bounded by its ctx, rather than in nats.go's stall (which fails
// after a fixed time).
const asyncWindow = 4096

// asyncSend is a SendAsync published and waiting for its PubAck.
type asyncSend struct {
	ctx  context.Context
	msg  *natsgo.Msg
	id   string
	key  []byte
	fut  jetstream.PubAckFuture // nil: not published
	sent time.Time              // when it was published
	done func(error)
	// Once published: answered is set by whoever calls done (endAsync),
	// so that it is called once; unwatch stops the answer its ctx's end
	// gives (ctxEnded) when that comes first.
	answered *atomic.Bool
	unwatch  func() bool
}

// stallBriefly is the stall wait of a SendAsync's publish, while nats.go
// finds the JetStream context's window full (the producer's Sends take
// room there too): SendAsync publishes again, checking its ctx between
// waits, rather than after nats.go's default 200ms.
var stallBriefly = jetstream.WithStallWait(20 * time.Millisecond)

// SendAsync is Send without waiting for the PubAck (stream.AsyncProducer,
// pipelined processing): it makes the same checks as Send (the same
// permanent errors, given to done before SendAsync returns), publishes m
// on the caller's goroutine and returns; the producer's one goroutine
// waiting for PubAcks takes them in publish order, each within
// send-timeout of its publish, and calls done with what Send would have
// returned (nil also for a duplicate, counted as Send counts it). At most
// 4,096 SendAsyncs of a producer are unanswered (their done not called):
// SendAsync blocks while that many are, bounded by ctx, and done then
// gets ctx's error (the message was not sent); a ctx that ended before
// the call fails it unsent too. Messages passed one after another from
// one goroutine are published in that order and so stored in that order
// per subject (partition) while nothing fails. A transient failure (no
// PubAck within send-timeout, a lost connection, no stream answering) is
// retried as Send retries it (send-attempts, back-off, the stream
// provisioned again) on a goroutine of its own, after the messages
// published after it: the retried message can then be stored after
// messages sent after it (once only, within the stream's
// duplicate-window: its Nats-Msg-Id is kept). When ctx ends before the
// PubAck came, done gets ctx's error then (the message may still be
// stored), as Send returns then, not once the PubAcks of the messages
// published before it were waited for. On a closed producer done
// gets stream.ErrClosed (wrapped); Close waits, bounded by its ctx, for
// every done.
func (p *producer) SendAsync(ctx context.Context, m stream.Envelope, done func(error)) {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	if !p.gate.Enter() {
		done(p.closedErr())
		return
	}
	p.async.Do(p.startAsync)
	if err := ctx.Err(); err != nil {
		p.gate.Exit()
		done(fmt.Errorf("nats: send to %s: %w (not sent)", p.dest, err))
		return
	}
	msg, id, err := p.prepare(ctx, m)
	if err != nil {
		p.gate.Exit()
		done(err)
		return
	}
	select {
	case p.room <- struct{}{}:
	default:
		select {
		case p.room <- struct{}{}:
		case <-ctx.Done():
			p.gate.Exit()
			done(p.noRoom(msg, ctx.Err()))
			return
		}
	}
	s := asyncSend{ctx: ctx, msg: msg, id: id, key: m.Key, done: done}
	fut, err := p.publishAsync(msg, id, stallBriefly)
	for errors.Is(err, jetstream.ErrTooManyStalledMsgs) { // publishing again keeps the caller's order
		if ctx.Err() != nil {
			p.endAsync(s, p.noRoom(msg, ctx.Err()))
			return
		}
		fut, err = p.publishAsync(msg, id, stallBriefly)
	}
	if err != nil {
		// Not sent: retried as Send's first attempt would be, off the
		// caller's goroutine.
		go p.finishAsync(s, false, errNotSent{err})
		return
	}
	s.fut, s.sent = fut, time.Now()
	// Answered when ctx ends, as Send returns then, not only when
	// awaitAcks, waiting for the PubAcks before it, comes to it. A ctx
	// that cannot end (Background) needs no watcher: no allocation.
	if ctx.Done() != nil {
		s.answered = new(atomic.Bool)
		early := s // a copy: s.unwatch is set after
		s.unwatch = context.AfterFunc(ctx, func() { p.ctxEnded(early) })
	}
	p.queue <- s // never blocks: it holds at most asyncWindow, one a room token
}

// ctxEnded answers s, published, when its ctx ended before its PubAck
// was taken. Its room is given back, and it leaves the gate, once
// awaitAcks came to it (awaitAcks, endAsync): until then it is in the
// queue, which holds at most asyncWindow, and Close, waiting for the gate
// to be idle, does not close the queue under SendAsync's push of it (the
// watcher can run before that push: "send on closed channel").
func (p *producer) ctxEnded(s asyncSend) {
	if !s.answered.CompareAndSwap(false, true) {
		return
	}
	s.done(p.bd.wrap(s.ctx.Err(), "nats: send to %s: no PubAck (the message may still have been stored; a send again with its id within the duplicate window is not stored twice)", s.msg.Subject))
}

// noRoom is a SendAsync's error when ctx ended while it waited for room.
func (p *producer) noRoom(msg *natsgo.Msg, err error) error {
	return fmt.Errorf("nats: send to %s: %w while waiting for room among the producer's %d sends without a PubAck (not sent)", msg.Subject, err, asyncWindow)
}

// startAsync makes SendAsync's window and starts awaitAcks.
func (p *producer) startAsync() {
	p.room = make(chan struct{}, asyncWindow)
	p.queue = make(chan asyncSend, asyncWindow)
	go p.awaitAcks()
}

// stopAsync ends awaitAcks once the producer is closed and idle (no
// SendAsync in progress or unanswered).
func (p *producer) stopAsync() {
	p.async.Do(func() {}) // no SendAsync starts it from now on
	if p.queue != nil {
		close(p.queue)
	}
}

// awaitAcks waits for the PubAcks of the published SendAsyncs, in publish
// order, and answers them: at once when stored, on a goroutine of its own
// when the send is retried (finishAsync).
func (p *producer) awaitAcks() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for s := range p.queue {
		if s.answered != nil && s.answered.Load() { // its ctx ended (ctxEnded)
			<-p.room
			p.gate.Exit()
			continue
		}
		dup, err := p.awaitAck(&s, t)
		if err != nil {
			go p.finishAsync(s, dup, err)
			continue
		}
		p.finishAsync(s, dup, nil)
	}
}

// awaitAck waits for s's PubAck, until send-timeout after its publish or
// its ctx ends, as publishOnce does for a Send; t is a stopped timer.
func (p *producer) awaitAck(s *asyncSend, t *time.Timer) (dup bool, err error) {
	ok, failed := s.fut.Ok(), s.fut.Err()
	select {
	case ack := <-ok:
		return ack != nil && ack.Duplicate, nil
	case err := <-failed:
		return false, err
	default:
	}
	t.Reset(time.Until(s.sent.Add(p.ps.sendTimeout)))
	defer t.Stop()
	select {
	case ack := <-ok:
		return ack != nil && ack.Duplicate, nil
	case err := <-failed:
		return false, err
	case <-t.C:
		return false, errPubAckTimeout
	case <-s.ctx.Done():
		return false, s.ctx.Err()
	}
}

// finishAsync answers s, whose first attempt ended with dup and err: a
// failure is retried as Send retries it (settle).
func (p *producer) finishAsync(s asyncSend, dup bool, err error) {
	err = p.settle(s.ctx, s.msg, s.id, p.ps.sendAttempts, dup, err)
	p.endAsync(s, sendErr(err, s.msg.Header, s.key))
}

// endAsync gives s's room back and calls its done with err, unless it
// was answered when its ctx ended.
func (p *producer) endAsync(s asyncSend, err error) {
	if s.answered != nil {
		s.unwatch()
		if !s.answered.CompareAndSwap(false, true) {
			<-p.room // answered when its ctx ended (ctxEnded)
			p.gate.Exit()
			return
		}
	}
	<-p.room
	s.done(err)
	p.gate.Exit()
}

// headerTooLarge adds to err, JetStream's refusal of a header block over
// maxHeaderBlock, what took the room: the server's text does not say, and
// the message key travels in a header here.
func headerTooLarge(err error, h natsgo.Header, key []byte) error {
	what := ""
	if len(h[keyHeader]) > 0 {
		what = fmt.Sprintf("; the message key (%d bytes) travels in header %s", len(key), keyHeader)
	}
	return fmt.Errorf("%w (JetStream stores at most %d bytes of headers a message; these took %d%s)", err, maxHeaderBlock, wireSize(h, nil), what)
}

// publish sends msg with up to attempts attempts for transient errors,
// with back-off between them.
func (p *producer) publish(ctx context.Context, msg *natsgo.Msg, id string, attempts int) error {
	dup, err := p.publishOnce(ctx, msg, id)
	return p.settle(ctx, msg, id, attempts, dup, err)
}

// settle is the outcome of a send of msg whose first attempt ended with
// dup and err: the further attempts publish makes (up to attempts in
// all) for a transient err, with back-off between them.
func (p *producer) settle(ctx context.Context, msg *natsgo.Msg, id string, attempts int, dup bool, err error) error {
	sent := false // an attempt went out and had no answer: it may have been stored
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			dup, err = p.publishOnce(ctx, msg, id)
		}
		if err != nil && unanswered(err) {
			sent = true
		}
		if err == nil {
			p.SetHealth(nil)
			if dup && !sent {
				p.duplicate(id, p.ref.Load())
			}
			return nil
		}
		if ctx.Err() != nil {
			switch {
			case errors.Is(err, ctx.Err()): // ended awaiting the PubAck
				return p.bd.wrap(err, "nats: send to %s: no PubAck (the message may still have been stored; a send again with its id within the duplicate window is not stored twice)", msg.Subject)
			case sent:
				return p.bd.wrap(err, "nats: send to %s: %w: no PubAck (the message may still have been stored; a send again with its id within the duplicate window is not stored twice)", msg.Subject, ctx.Err())
			}
			// Ended as the attempt was refused: ctx's error all the same,
			// as Send's caller tests for it.
			return p.bd.wrap(err, "nats: send to %s: %w after attempt %d (the message was not stored: each attempt was refused or not sent)", msg.Subject, ctx.Err(), attempt)
		}
		if isPermanentPublish(err, p.c.nc) {
			return stream.Permanent(p.bd.wrap(err, "nats: send to %s", msg.Subject))
		}
		if size, ref := overMaxBytes(err, msg, p.ref.Load()); size > 0 {
			return stream.Permanent(p.bd.wrap(err, "nats: send to %s: the message (at least %d bytes as stored) is larger than stream %s's max-bytes (%d): it can never be stored", msg.Subject, size, ref.name, ref.maxBytes))
		}
		if p.c.nc.IsClosed() {
			return p.bd.wrap(err, "nats: send to %s: connection closed", msg.Subject)
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) && p.c.nc.IsConnected() {
			// Connected, yet no stream answers: the stream may have been
			// deleted. Provision it again (a no-op if it is there).
			p.reprovision(ctx)
		}
		if attempt >= attempts {
			return p.bd.wrap(err, "nats: send to %s: %d attempts", msg.Subject, attempt)
		}
		p.log.Debug("nats: send failed; retrying", "attempt", attempt, "error", p.bd.logErr(err))
		if !dispatch.Sleep(ctx, p.backoff.Delay(attempt)) {
			if sent {
				return p.bd.wrap(err, "nats: send to %s: %w after attempt %d (the message may still have been stored; a send again with its id within the duplicate window is not stored twice)", msg.Subject, ctx.Err(), attempt)
			}
			return p.bd.wrap(err, "nats: send to %s: %w after attempt %d (the message was not stored: each attempt was refused or not sent)", msg.Subject, ctx.Err(), attempt)
		}
	}
}

var errPubAckTimeout = errors.New("no PubAck within send-timeout")

// errNotSent marks a publish that did not leave the client.
type errNotSent struct{ error }

func (e errNotSent) Unwrap() error { return e.error }

// unanswered reports whether err, a failed publishOnce, leaves open
// whether the message was stored: it went out and neither a PubAck nor a
// refusal came back (a send-timeout, a lost connection). A publish that
// was not sent, that no stream took (no responders) or that JetStream
// refused stored nothing.
func unanswered(err error) bool {
	var ns errNotSent
	return !errors.As(err, &ns) && !errors.Is(err, jetstream.ErrNoStreamResponse) &&
		!errors.Is(err, natsgo.ErrNoResponders) && apiCode(err) == 0
}

// noPublishRetries turns off nats.go's own retries of a publish no stream
// answered (by default two, 250 ms apart): the binder retries itself, with
// back-off, and provisions a deleted stream again first. Left on, a
// send-timeout under their 0.5 s ended every attempt as "no PubAck" while
// nats.go was still retrying, and the stream was never made again.
var noPublishRetries = jetstream.WithRetryAttempts(0)

// timers recycles the send-timeout timers of sends (one a Send, at
// thousands of sends a second). A stopped timer's channel is empty (Go
// 1.23 and later), so a recycled one never fires early.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// publishOnce publishes msg once and waits for its PubAck; dup reports
// that JetStream acknowledged it as a duplicate (its Nats-Msg-Id id within
// the stream's duplicate window) and did not store it.
func (p *producer) publishOnce(ctx context.Context, msg *natsgo.Msg, id string) (dup bool, err error) {
	fut, err := p.publishAsync(msg, id, nil)
	if err != nil {
		return false, errNotSent{err}
	}
	t := timers.Get().(*time.Timer)
	t.Reset(p.ps.sendTimeout)
	defer func() { t.Stop(); timers.Put(t) }()
	select {
	case ack := <-fut.Ok():
		return ack != nil && ack.Duplicate, nil
	case err := <-fut.Err():
		return false, err
	case <-t.C:
		return false, errPubAckTimeout
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// publishAsync publishes msg once, with Nats-Msg-Id id to the
// destination's stream, and returns its PubAck's future; stall, when not
// nil, is its stall wait.
func (p *producer) publishAsync(msg *natsgo.Msg, id string, stall jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	name := p.ref.Load().name
	if stall != nil {
		return p.c.js.PublishMsgAsync(msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(name), noPublishRetries, stall)
	}
	return p.c.js.PublishMsgAsync(msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(name), noPublishRetries)
}

// reprovision looks the destination's stream up again and creates it if
// it is gone; the binding is unhealthy while that fails.
func (p *producer) reprovision(ctx context.Context) {
	ref, err := p.bd.provisionAgain(ctx, p.c, p.dest)
	if ctx.Err() != nil {
		return // the Send ends with ctx's error
	}
	if err != nil {
		transient := isTransient(err)
		err = p.bd.wrap(err, "nats: destination %s cannot be sent to", p.dest)
		p.SetHealth(err)
		if transient {
			// JetStream not answering (a server restarting, a leader
			// election): the send's retries go on; not a WARN each time.
			p.log.Debug("nats: no stream answers and JetStream cannot be asked about it yet", "error", p.bd.logErr(err))
			return
		}
		p.log.Warn("nats: the destination's stream is gone and cannot be provisioned again", "error", p.bd.logErr(err))
		return
	}
	if old := p.ref.Swap(ref); old == nil || old.name != ref.name {
		p.log.Info("nats: destination now goes to stream", "stream", ref.name)
	}
}

// storedSize is what msg, published with Nats-Msg-Id id, counts against
// the max-bytes of stream ref: its subject, header block (with the
// Nats-Msg-Id and Nats-Expected-Stream headers the publish adds) and
// payload, and JetStream's per-message overhead.
func storedSize(msg *natsgo.Msg, id string, ref *streamRef) int {
	overhead := storeOverhead
	if ref.memory {
		overhead = 16
	}
	n := len(msg.Subject) + wireSize(msg.Header, msg.Data) + overhead +
		len(jetstream.MsgIDHeader) + len(id) + len(jetstream.ExpectedStreamHeader) + len(ref.name) + 2*natsHeaderOverhead
	if len(msg.Header) == 0 {
		n += natsHeaderFixed
	}
	return n
}

// checkMaxBytes refuses (permanently) a message larger than its stream's
// max-bytes alone: with discard new JetStream refuses it as it refuses
// sends to a full stream, and with discard old it stores it, acknowledges
// it and drops it (and every older message) at once to keep the limit —
// a Send that succeeded and a message lost. The stream is looked up again
// first (its max-bytes may have been raised since).
func (p *producer) checkMaxBytes(ctx context.Context, msg *natsgo.Msg, id string) error {
	ref := p.ref.Load()
	if ref.maxBytes <= 0 || int64(storedSize(msg, id, ref)) <= ref.maxBytes {
		return nil
	}
	p.bd.forgetStream(p.dest)
	if fresh, err := p.bd.ensureStream(ctx, p.c, p.dest); err == nil && fresh.name == ref.name {
		p.ref.Store(fresh)
		ref = fresh
	}
	size := storedSize(msg, id, ref)
	if ref.maxBytes <= 0 || int64(size) <= ref.maxBytes {
		return nil
	}
	return stream.Permanent(fmt.Errorf("nats: send to %s: the message (%d bytes as stored) is larger than stream %s's max-bytes (%d): it can never be kept", msg.Subject, size, ref.name, ref.maxBytes))
}

// overMaxBytes returns the size msg takes at least in its stream (ref)
// when err, its publish's refusal, is the stream's max-bytes (discard new)
// and msg alone is larger than that: no retry stores it, however much the
// stream holds (it was retried send-attempts times as a full stream's
// refusal). Else 0. The size counts the subject, headers and payload,
// less than the stream counts (its per-message overhead), so a message
// just under the limit may still be retried.
func overMaxBytes(err error, msg *natsgo.Msg, ref *streamRef) (int, *streamRef) {
	var je jetstream.JetStreamError
	if ref == nil || ref.maxBytes <= 0 || !errors.As(err, &je) || je.APIError() == nil ||
		!strings.Contains(je.APIError().Description, "maximum bytes") {
		return 0, nil
	}
	size := len(msg.Subject) + wireSize(msg.Header, msg.Data)
	if int64(size) <= ref.maxBytes {
		return 0, nil
	}
	return size, ref
}

// isPermanentPublish reports the refusals no retry fixes: a message over
// the server's max_payload or the stream's max-msg-size, a message the
// stream refuses as malformed, a publish without permission.
func isPermanentPublish(err error, nc *natsgo.Conn) bool {
	if errors.Is(err, natsgo.ErrMaxPayload) || errors.Is(err, natsgo.ErrBadSubject) ||
		errors.Is(err, natsgo.ErrBadHeaderMsg) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) ||
		errors.Is(err, natsgo.ErrPermissionViolation) {
		return true
	}
	if code := apiCode(err); code != 0 {
		// 400: the request itself is wrong (e.g. an expected stream that
		// is not the one capturing the subject) — except a duplicate
		// message id, which is not an error at all.
		var je jetstream.JetStreamError
		errors.As(err, &je)
		return je.APIError().Code == 400
	}
	return false
}

// Close stops accepting sends and waits, bounded by ctx, for the sends in
// progress, SendAsyncs until their done ran (each is answered even when
// ctx ends first: within its send-timeout and attempts). It is
// idempotent.
func (p *producer) Close(ctx context.Context) error {
	already, idle := p.gate.Close()
	if already {
		return nil
	}
	p.bd.forgetProducer(p)
	// Idle first (lifecycle.Wait): with ctx ended as well, a select of
	// both chose at random, and a producer that had sent nothing reported
	// sends still waiting at a shutdown whose time was spent.
	if err := lifecycle.Wait(ctx, idle); err != nil {
		go func() { // the sends end within their send-timeouts and attempts
			<-idle
			p.stopAsync()
			p.c.js.CleanupPublisher()
		}()
		return fmt.Errorf("nats: close producer %s: sends still waiting for their PubAck: %w", p.binding, err)
	}
	p.stopAsync()
	p.c.js.CleanupPublisher() // its reply subscription
	return nil
}
