package rabbit

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// Errors a Send can return (wrapped).
var (
	// ErrNacked: the broker refused the message (basic.nack).
	ErrNacked = errors.New("the broker nacked the message")
	// ErrUnroutable: a mandatory message matched no queue (basic.return).
	ErrUnroutable = errors.New("unroutable message returned by the broker (no queue bound for its routing key)")
)

// keyHeader carries Envelope.Key, which AMQP has no field for; the
// consumer moves it back into Envelope.Key.
const keyHeader = "x-streambind-key"

// pubHeader carries a publish's correlation token when its message_id is
// not one the publisher generated (a user's id header, a dead letter
// keeping its original id): two publishes in flight could share such an id,
// and a basic.return must be matched to the one it belongs to. The consumer
// drops it, and a publish drops one the message came with (attempt).
const pubHeader = "x-streambind-pub"

// publisher publishes with confirms over a small pool of channels ("lanes")
// on the binder's publisher connection. Every producer binding of the binder
// and the dead-lettering of its consumers share it.
type publisher struct {
	mgr   *connMgr
	lanes []*lane
	next  atomic.Uint32
	ids   atomic.Uint64
	idPfx string
	// maxMessageSize bounds payloads (the broker's max_message_size).
	maxMessageSize int
	// skipChecks publishes what checkPublishing would refuse (tests: a
	// broker that closes the connection on every publish).
	skipChecks bool
	// keepIDs publishes a message without a message_id without one (the
	// dead letters and retry copies of dlPub: the original again, as
	// SCSt republishes it), its basic.return matched by pubHeader.
	keepIDs bool
}

func newPublisher(mgr *connMgr, n, window int, idPrefix string, maxMessageSize int) *publisher {
	p := &publisher{mgr: mgr, idPfx: idPrefix, maxMessageSize: maxMessageSize}
	for range n {
		p.lanes = append(p.lanes, &lane{mgr: mgr, sem: make(chan struct{}, 1), window: make(chan struct{}, window), q: make(chan queued, window)})
	}
	return p
}

// lane is one publishing channel. sem serialises opening it again;
// publishing needs no lock of the lane's, since amqp091-go serialises a
// channel's publishes (and numbers them for confirms) under the channel's
// own lock, so concurrent Sends go straight to it as a raw client's would.
// window bounds the messages published and not yet confirmed.
//
// Publishes without waiting (publishAsync) go out under amu, each followed by
// its entry in q, so q holds them in delivery-tag order per channel;
// resolve (one goroutine while q is not empty) waits for the confirms in
// that order and reports each. Every entry holds a window slot until it
// is resolved, so q (capacity window) never fills.
type lane struct {
	mgr    *connMgr
	sem    chan struct{}
	window chan struct{}
	cur    atomic.Pointer[laneSession] // stored under sem
	// opening is the channel open awaiting the broker's answer (under
	// sem): a Send whose ctx ended leaves it to the next one, so a broker
	// that does not answer has one open in flight per lane, not one per
	// Send (which ran out of the connection's channel ids in 12s).
	opening *laneOpen

	amu sync.Mutex
	q   chan queued
	qn  atomic.Int64 // entries put in q and not yet resolved
}

// laneOpen is a lane's channel open (channel.open and confirm.select) on
// conn; ch and err are set when done is closed.
type laneOpen struct {
	conn *amqp.Connection
	done chan struct{}
	ch   *amqp.Channel
	err  error
}

// open returns a new channel of conn in confirm mode, waiting for the
// broker for as long as ctx lasts: the open goes on when ctx ends
// (amqp091-go's channel calls take no context), and the lane's next open
// on the same connection takes its result. Call with the lane locked.
func (l *lane) open(ctx context.Context, conn *amqp.Connection) (*amqp.Channel, error) {
	op := l.opening
	if op != nil && op.conn != conn {
		// An open on a connection since replaced: close what it brings
		// (stale: the goroutine must not read op, reassigned below).
		stale := op
		go func() {
			<-stale.done
			if stale.ch != nil {
				_ = stale.ch.Close()
			}
		}()
		op = nil
	}
	if op == nil {
		op = &laneOpen{conn: conn, done: make(chan struct{})}
		l.opening = op
		go func() {
			defer close(op.done)
			ch, err := conn.Channel()
			if err == nil {
				if err = ch.Confirm(false); err != nil {
					_ = ch.Close()
					ch = nil
				}
			}
			op.ch, op.err = ch, err
		}()
	}
	select {
	case <-op.done:
		l.opening = nil
		if op.err == nil && op.ch.IsClosed() {
			return nil, amqp.ErrClosed
		}
		return op.ch, op.err
	case <-ctx.Done():
		return nil, stream.Unavailable(fmt.Errorf("open a publishing channel: no answer from the broker: %w", ctx.Err()))
	}
}

// queued is a publish waiting for its confirm in a lane's q.
type queued struct {
	ctx  context.Context
	s    *laneSession
	dc   *amqp.DeferredConfirmation
	a    *pubAttempt
	done func(error)
}

// laneSession is one channel of a lane, in confirm mode.
type laneSession struct {
	ch       *amqp.Channel
	conn     *amqp.Connection
	closeErr chan *amqp.Error // the channel's close reason
	gen      uint64
	mu       sync.Mutex
	returned map[string]int // message ids returned and not yet claimed
	// nReturned counts the entries of returned, so that the common case (no
	// return pending) costs an atomic load, not a lock.
	nReturned atomic.Int64

	reasonOnce sync.Once
	why        *amqp.Error
}

func (l *lane) lock(ctx context.Context) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *lane) unlock() { <-l.sem }

// current returns the lane's open channel, opening one (under the lane's
// lock) when there is none.
func (l *lane) current(ctx context.Context) (*laneSession, error) {
	if s := l.cur.Load(); s != nil && !s.ch.IsClosed() {
		return s, nil // the common case, without the lock
	}
	if err := l.lock(ctx); err != nil {
		return nil, fmt.Errorf("waiting for the publishing channel: %w", err)
	}
	defer l.unlock()
	return l.session(ctx)
}

// session returns the lane's open channel, opening one when needed. Call
// with the lane locked.
func (l *lane) session(ctx context.Context) (*laneSession, error) {
	if s := l.cur.Load(); s != nil && !s.ch.IsClosed() {
		return s, nil
	}
	l.cur.Store(nil)
	var (
		ch   *amqp.Channel
		conn *amqp.Connection
		gen  uint64
	)
	for {
		var err error
		if conn, gen, err = l.mgr.get(ctx); err != nil {
			return nil, err
		}
		if ch, err = l.open(ctx, conn); err == nil {
			break
		}
		if !connDead(ctx, conn, err) {
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, fmt.Errorf("open a publishing channel in confirm mode: %w", err)
		}
		l.mgr.lost(conn) // died meanwhile: wait for the next connection
	}
	s := &laneSession{ch: ch, conn: conn, gen: gen, returned: map[string]int{}, closeErr: ch.NotifyClose(make(chan *amqp.Error, 1))}
	// basic.return for a message precedes its basic.ack, and amqp091-go
	// delivers both from its reader goroutine in that order. Two unbuffered
	// return listeners served by one goroutine make the reader wait until
	// the return was recorded before it can go on to the ack, so a Send that
	// sees its ack always sees its return too.
	r1 := ch.NotifyReturn(make(chan amqp.Return))
	r2 := ch.NotifyReturn(make(chan amqp.Return))
	go func() {
		for r := range r1 {
			corr := r.MessageId
			if v, ok := r.Headers[pubHeader].(string); ok {
				corr = v
			}
			s.mu.Lock()
			s.returned[corr]++
			s.nReturned.Add(1)
			s.mu.Unlock()
			<-r2
		}
	}()
	l.cur.Store(s)
	return s, nil
}

// reason returns why the session's channel closed (the channel's or its
// connection's error; nil for a clean close). amqp091-go marks the channel
// closed a moment before it hands out the reason, hence the bounded wait.
func (s *laneSession) reason() *amqp.Error {
	s.reasonOnce.Do(func() {
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		select {
		case e, ok := <-s.closeErr:
			if ok {
				s.why = e
			}
		case <-t.C:
		}
	})
	return s.why
}

// outcome of one publish attempt.
type outcome int

const (
	final      outcome = iota // err is the result
	again                     // the connection was lost first: publish again
	againChan                 // the channel was closed by an error (err) another publish may have caused
	againFrame                // the broker closed the connection with a frame error (err)
)

// lost says what to do about publish a whose channel closed before it was
// confirmed.
func (s *laneSession) lost(a *pubAttempt) (outcome, error) {
	exchange := a.exchange
	e := s.reason()
	if s.conn.IsClosed() {
		if isFrameError(e) {
			return againFrame, e
		}
		return again, nil
	}
	if e == nil || e.Code == amqp.ConnectionForced || e.Server && e.Code >= 500 {
		return again, nil
	}
	if limit, ok := sizeRefused(e); ok {
		// The broker's max_message_size is lower than max-message-size:
		// the reason names the limit, so the message over it is known
		// and the others on the channel are not to blame.
		if len(a.msg.Body) > limit {
			return final, fmt.Errorf("publish to exchange %q: %w: payload of %d bytes, over the broker's max_message_size %d (set max-message-size to it): %w", exchange, ErrTooLarge, len(a.msg.Body), limit, e)
		}
		return again, nil
	}
	if propertyRefused(e, &a.msg) {
		// The closure names this message's expiration or user_id: it
		// fails alone, at once, instead of closing the channel twice more
		// (and losing the confirms of every message in flight with it).
		return final, fmt.Errorf("publish to exchange %q: %w: %w", exchange, errRefusedProperty, e)
	}
	err := fmt.Errorf("publish to exchange %q: channel closed: %w", exchange, e)
	if aboutExchange(e, exchange) {
		return final, err // caused by a publish to this exchange
	}
	if strings.Contains(e.Reason, "exchange '") {
		return again, nil // caused by a publish to another exchange
	}
	return againChan, err
}

// sizeRefusedRE matches the reason RabbitMQ closes a channel with for a
// message over its max_message_size.
var sizeRefusedRE = regexp.MustCompile(`message size \d+ is larger than (?:configured )?max size (\d+)`)

// sizeRefused returns the broker's max_message_size when e closed a
// channel for a message over it.
func sizeRefused(e *amqp.Error) (int, bool) {
	if e == nil || e.Code != amqp.PreconditionFailed {
		return 0, false
	}
	m := sizeRefusedRE.FindStringSubmatch(e.Reason)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Starts of the reasons RabbitMQ closes a channel with (406
// PRECONDITION_FAILED) for a published message's expiration or user_id
// property, each quoting the value as the message has it.
const (
	expirationRefused = "PRECONDITION_FAILED - invalid expiration '"
	userIDRefused     = "PRECONDITION_FAILED - user_id property set to '"
)

// propertyRefused reports whether e closed a channel for msg's expiration
// or user_id property: its reason quotes the value msg has. Another
// message in flight on the channel is not blamed, and is published again
// as after any closure (lost), so a value the reason would quote
// differently is bounded as ever.
func propertyRefused(e *amqp.Error, msg *amqp.Publishing) bool {
	if e == nil || e.Code != amqp.PreconditionFailed {
		return false
	}
	switch r := e.Reason; {
	case strings.HasPrefix(r, expirationRefused):
		return msg.Expiration != "" && strings.HasPrefix(r[len(expirationRefused):], msg.Expiration+"': ")
	case strings.HasPrefix(r, userIDRefused):
		return msg.UserId != "" && strings.HasPrefix(r[len(userIDRefused):], msg.UserId+"' but authenticated user was '")
	}
	return false
}

func (s *laneSession) takeReturned(id string) bool {
	// A return is recorded before its ack is delivered (see session), so a
	// Send that saw its ack sees its return in this count.
	if s.nReturned.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.returned[id] > 0 {
		s.nReturned.Add(-1)
		s.returned[id]--
		if s.returned[id] == 0 {
			delete(s.returned, id)
		}
		return true
	}
	return false
}

// pubAttempt is one message on its way through publish: the message as
// published (its id and correlation token set) and the failures its
// attempts met so far.
type pubAttempt struct {
	exchange, key string
	mandatory     bool
	msg           amqp.Publishing
	corr          string // matches a basic.return to this publish
	chErrs        int
	frameErrs     int
}

// attempt prepares msg for publishing: a generated message id when it has
// none (unless the publisher keeps ids: keepIDs), else (mandatory) a
// correlation header of its own.
func (p *publisher) attempt(exchange, key string, mandatory bool, msg amqp.Publishing) *pubAttempt {
	a := &pubAttempt{exchange: exchange, key: key, mandatory: mandatory}
	_, own := msg.Headers[pubHeader]
	_, dlAt := msg.Headers[headerDeadLetteredAt]
	_, dlExp := msg.Headers[headerOriginalExpiration]
	if own || ((dlAt || dlExp) && !p.keepIDs) {
		// One the message came with (an input's, from another client or
		// binder, that an output inherited) is not this publish's token:
		// kept, the broker's return would be matched to it, not to the
		// publish, which would then succeed unroutable. The time a dead
		// letter was dead-lettered is the dead-letter publisher's to
		// write (an output of a dead-letters-of reader inherits it; in
		// a dead-letter queue it would pass for the dead letter's time),
		// and so is the expiration of the message it was made of.
		h := maps.Clone(msg.Headers)
		delete(h, pubHeader)
		if !p.keepIDs {
			delete(h, headerDeadLetteredAt)
			delete(h, headerOriginalExpiration)
		}
		msg.Headers = h
	}
	if msg.MessageId == "" && !p.keepIDs {
		msg.MessageId = p.idPfx + strconv.FormatUint(p.ids.Add(1), 36)
		a.corr = msg.MessageId
	} else if mandatory {
		a.corr = p.idPfx + "c" + strconv.FormatUint(p.ids.Add(1), 36)
		h := make(amqp.Table, len(msg.Headers)+1)
		for k, v := range msg.Headers {
			h[k] = v
		}
		h[pubHeader] = a.corr
		msg.Headers = h
	}
	a.msg = msg
	return a
}

// next says whether an attempt that ended with o and err decides the
// message's result (fin, with that result) or it is to be published again.
func (a *pubAttempt) next(o outcome, err error) (fin bool, _ error) {
	switch o {
	case final:
		return true, err
	case againChan:
		if a.chErrs++; a.chErrs > 2 {
			return true, err
		}
	case againFrame:
		if a.frameErrs++; a.frameErrs >= frameErrorLimit {
			return true, fmt.Errorf("%w (%d connections; last: %v)", errFrameErrors, a.frameErrs, err)
		}
	}
	return false, nil
}

// publish sends msg and waits for its confirm, re-publishing it when the
// channel or connection is lost before the confirm arrived. It waits while
// the connection is blocked by a broker alarm; ctx bounds every wait. A
// message that cannot be encoded, or is too large for the connection's
// frame_max or max-message-size, is not published (ErrTooLarge,
// errInvalidMessage); one that was in flight every time the broker closed
// the connection with a frame error, frameErrorLimit times, fails with
// errFrameErrors. It takes the lanes in turn: it is for the dead letters
// and retry-queue copies (dlPub, one lane); a producer's messages go on
// the lane sendLane or laneFor chose (producer.publishOn).
func (p *publisher) publish(ctx context.Context, exchange, key string, mandatory bool, msg amqp.Publishing) error {
	l := p.lanes[int(p.next.Add(1))%len(p.lanes)]
	return p.publishOn(ctx, l, p.attempt(exchange, key, mandatory, msg))
}

// publishOn is publish on lane l, for a message whose earlier attempts a
// records.
func (p *publisher) publishOn(ctx context.Context, l *lane, a *pubAttempt) error {
	for {
		if err := p.slot(ctx, l); err != nil {
			return err
		}
		o, err := l.publishOnce(ctx, p, a)
		<-l.window
		if fin, err := a.next(o, err); fin {
			return err
		}
	}
}

// slot waits while the connection is blocked, then for a free place in
// l's confirm window.
func (p *publisher) slot(ctx context.Context, l *lane) error {
	if err := p.mgr.waitUnblocked(ctx); err != nil {
		return err
	}
	select {
	case l.window <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for a publish slot: %w", ctx.Err())
	}
}

// laneFor is the lane of an asynchronous publish with routing key key of
// message m: the same for every message of one key (one routing key when
// m has none), so that their order is kept on one channel.
func (p *publisher) laneFor(m stream.Envelope, key string) *lane {
	if len(p.lanes) == 1 {
		return p.lanes[0]
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	h.Write(m.Key)
	return p.lanes[h.Sum32()%uint32(len(p.lanes))]
}

// sendLane is the lane of a Send of m with routing key key. A Send waits
// for its own confirm, so the caller's next message is published after m
// is stored whatever lane m took: Sends take the lanes in turn, and
// concurrent ones spread over publisher-channels. (On the lane of their
// key, all Sends of one destination's routing key shared one channel.)
// Only while SendAsyncs are unresolved on the lane of m's key does m go
// there: a Send after SendAsyncs of its key (a pipelined function's
// retry in place) must not overtake them on another channel.
func (p *publisher) sendLane(m stream.Envelope, key string) *lane {
	l := p.laneFor(m, key)
	if len(p.lanes) == 1 || l.qn.Load() > 0 {
		return l
	}
	return p.lanes[p.next.Add(1)%uint32(len(p.lanes))]
}

// publishAsync is publish without waiting for the confirm: it returns once
// the message is published (or failed before that: done has then been
// called), and done gets publish's result when the confirm arrived. It
// blocks as publish does before publishing (a blocked connection, a full
// confirm window, a channel being opened again), bounded by ctx. A publish
// that fails because its channel is closed is retried at once on the next
// channel, as publish does, so that the order of the calls is kept; a
// message whose channel is lost before its confirm is published again on a
// goroutine of its own (publishOn), possibly after messages published
// later. Messages published one after another on one lane are stored in
// that order while nothing fails.
func (p *publisher) publishAsync(ctx context.Context, l *lane, a *pubAttempt, done func(error)) {
	for {
		if err := p.slot(ctx, l); err != nil {
			done(err)
			return
		}
		o, err, ok := l.publishQueued(ctx, p, a, done)
		if ok {
			return // the window slot is released by resolve
		}
		<-l.window
		if fin, err := a.next(o, err); fin {
			done(err)
			return
		}
	}
}

// publishQueued publishes a on the lane's current channel and queues it
// for resolve (ok), or returns the outcome of a publish that
// failed.
func (l *lane) publishQueued(ctx context.Context, p *publisher, a *pubAttempt, done func(error)) (_ outcome, _ error, ok bool) {
	s, err := l.current(ctx)
	if err != nil {
		return final, err, false
	}
	if !p.skipChecks {
		if err := checkPublishing(a.exchange, a.key, &a.msg, frameMax(s.conn), p.maxMessageSize); err != nil {
			return final, err, false
		}
	}
	l.amu.Lock()
	dc, err := s.ch.PublishWithDeferredConfirm(a.exchange, a.key, a.mandatory, false, a.msg)
	if err != nil {
		l.amu.Unlock()
		if s.ch.IsClosed() || connDead(ctx, s.conn, err) {
			o, err := s.lost(a)
			return o, err, false
		}
		return final, fmt.Errorf("publish to exchange %q: %w", a.exchange, err), false
	}
	l.q <- queued{ctx: ctx, s: s, dc: dc, a: a, done: done}
	first := l.qn.Add(1) == 1
	l.amu.Unlock()
	if first {
		go l.resolve(p)
	}
	return final, nil, true
}

// resolve reports the confirms of the lane's queued publishes in their
// order, until q is empty. A publish lost with its channel is published
// again on a goroutine of its own, so that it does not hold up the rest.
//
// Entries are counted in qn after they were put in q (both under amu):
// the goroutine that makes qn 1 starts resolve, and resolve ends when it
// brings qn back to 0, so exactly one runs while entries are waiting.
func (l *lane) resolve(p *publisher) {
	for {
		e := <-l.q
		var o outcome
		var err error
		select {
		case <-e.dc.Done():
			o, err = e.s.confirmed(e.dc, e.a)
		case <-e.ctx.Done():
			o, err = final, fmt.Errorf("publish to exchange %q: not confirmed (it may still arrive): %w", e.a.exchange, e.ctx.Err())
		}
		if fin, err := e.a.next(o, err); fin {
			// done before the slot is released: a caller never has more
			// than confirm-window results outstanding.
			e.done(err)
			<-l.window
		} else {
			<-l.window
			go func() { e.done(p.publishOn(e.ctx, l, e.a)) }()
		}
		if l.qn.Add(-1) == 0 {
			return
		}
	}
}

// publishOnce publishes on the lane's current channel and waits for the
// confirm.
func (l *lane) publishOnce(ctx context.Context, p *publisher, a *pubAttempt) (outcome, error) {
	s, err := l.current(ctx)
	if err != nil {
		return final, err
	}
	if !p.skipChecks {
		if err := checkPublishing(a.exchange, a.key, &a.msg, frameMax(s.conn), p.maxMessageSize); err != nil {
			return final, err
		}
	}
	// A channel closed meanwhile fails the publish; it is then lost below
	// and published again on a new channel.
	dc, err := s.ch.PublishWithDeferredConfirm(a.exchange, a.key, a.mandatory, false, a.msg)
	if err != nil {
		if s.ch.IsClosed() || connDead(ctx, s.conn, err) {
			return s.lost(a)
		}
		return final, fmt.Errorf("publish to exchange %q: %w", a.exchange, err)
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return final, fmt.Errorf("publish to exchange %q: not confirmed (it may still arrive): %w", a.exchange, ctx.Err())
	}
	return s.confirmed(dc, a)
}

// confirmed is the outcome of publish a on s, whose confirmation dc is
// done: acked (unless the broker returned it), nacked, or lost with the
// channel.
func (s *laneSession) confirmed(dc *amqp.DeferredConfirmation, a *pubAttempt) (outcome, error) {
	if !dc.Acked() {
		if s.ch.IsClosed() {
			return s.lost(a) // lost before the confirm
		}
		return final, fmt.Errorf("publish to exchange %q: %w", a.exchange, ErrNacked)
	}
	if a.mandatory && s.takeReturned(a.corr) {
		return final, fmt.Errorf("publish to exchange %q with routing key %q: %w", a.exchange, a.key, ErrUnroutable)
	}
	return final, nil
}

// producer is a producer binding.
type producer struct {
	bd          *Binder
	spec        stream.ProducerSpec
	exchange    string // the destination's exchange: <prefix><destination>
	opts        producerOptions
	topo        topology // what the binding declares (its exchange, required groups)
	log         *slog.Logger
	partitioned bool
	closed      atomic.Bool
	inflight    sync.WaitGroup
	// pending counts what inflight does, for Close to see at once that
	// nothing is in flight.
	pending atomic.Int64
	// mu guards inflight.Add against Close's Wait; concurrent Sends share
	// it (read lock), Close takes it alone.
	mu sync.RWMutex

	// down is why the destination cannot be sent to (its exchange is gone
	// and cannot be declared again), with the start of the send that found
	// it; nil while sends can succeed.
	down atomic.Pointer[downCause]
	// lastOK is the start (on the monotonic clock, since born) of the
	// latest-started send that succeeded. Results of SendAsync come in
	// confirm order, not start order: a send that failed before the cause
	// went away may report after a later one succeeded, and must not mark
	// the binding down again (it would stay down until the next success).
	lastOK atomic.Int64
	born   time.Time
	// routingHeaderWarned: a CC or BCC header was left out (logged once).
	routingHeaderWarned atomic.Bool
	// gz gzips the bodies of a compress: true binding; nil otherwise.
	gz *gzipper
	// batch gathers the messages of a batching-enabled: true binding
	// into Spring AMQP batches; nil otherwise.
	batch *batcher

	redeclMu  sync.Mutex
	redeclAt  time.Time // the last declaration attempt of recover
	redeclErr error     // its result
}

var (
	_ stream.Producer             = (*producer)(nil)
	_ stream.AsyncProducer        = (*producer)(nil)
	_ stream.BindingHealthChecker = (*producer)(nil)
)

// redeclareInterval bounds how often a producer whose exchange cannot be
// declared tries again.
const redeclareInterval = time.Second

// Send publishes m persistently to the destination exchange and returns
// once the broker confirmed it. Partitioned messages are routed with key
// <destination>-<partition>; others with the routing-key property (default:
// the destination). When the exchange was deleted, Send declares the
// binding's topology again and publishes once more; while that is not
// possible the binding reports itself down (Health). Errors that cannot
// succeed on retry for this message are wrapped with stream.Permanent.
func (p *producer) Send(ctx context.Context, m stream.Envelope) error {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	p.mu.RLock()
	if p.closed.Load() {
		p.mu.RUnlock()
		return fmt.Errorf("rabbit: send to %q: producer %w", p.spec.Destination, stream.ErrClosed)
	}
	p.inflight.Add(1)
	p.pending.Add(1)
	p.mu.RUnlock()
	if err := p.refusedProperty(m); err != nil {
		p.sent()
		return err
	}
	if p.batch != nil {
		return p.sendBatchedWait(ctx, m)
	}
	defer p.sent()
	key, err := p.routingKey(m)
	if err != nil {
		return stream.Permanent(fmt.Errorf("rabbit: send to %q (binding %s): %w", p.spec.Destination, p.spec.Binding, err))
	}
	msg := toPublishing(m, p.spec.ContentType)
	p.withDeliveryMode(&msg)
	p.warnRoutingHeaders(m)
	start := time.Now()
	l := p.bd.pub.sendLane(m, key)
	if p.gz != nil {
		if err := p.gz.compress(&msg, p.bd.pub.maxMessageSize); err != nil {
			return p.result(ctx, l, key, msg, start, err)
		}
	}
	if typed, ok := p.withNativeHeaders(msg, m.NativeHeaders); ok {
		err := p.publishOn(ctx, l, key, typed)
		if !typedRefused(err) {
			return p.result(ctx, l, key, typed, start, err)
		}
		return p.result(ctx, l, key, msg, start, p.sendAsText(ctx, l, key, msg, err))
	}
	return p.result(ctx, l, key, msg, start, p.publishOn(ctx, l, key, msg))
}

// publishOn publishes msg with routing key key to the destination's
// exchange on lane l, the lane its Send or SendAsync took (sendLane,
// laneFor), and waits for its confirm. Every publish of a producer's
// message goes through it or publishAsync on that lane, also the ones
// published again (as text, after a missing exchange was declared), so
// that the message is not stored before earlier messages of its key still
// unconfirmed on the lane.
func (p *producer) publishOn(ctx context.Context, l *lane, key string, msg amqp.Publishing) error {
	pub := p.bd.pub
	return pub.publishOn(ctx, l, pub.attempt(p.exchange, key, p.opts.mandatory, msg))
}

// typedRefused reports whether err, a publish's error, refused the message
// before the broker had it for what its encoding is (too large for the
// frame, not encodable): the same message with text headers may go.
func typedRefused(err error) bool {
	return errors.Is(err, ErrTooLarge) || errors.Is(err, errInvalidMessage)
}

// sendAsText publishes msg, whose headers in their native types
// (stream.Envelope.NativeHeaders) were refused with typedErr, with its
// headers as text, and says so once it went: a replayed dead letter is
// not lost for a header that grew too large in its AMQP type (an int64 is
// 9 bytes, its text "0" one).
func (p *producer) sendAsText(ctx context.Context, l *lane, key string, msg amqp.Publishing, typedErr error) error {
	err := p.publishOn(ctx, l, key, msg)
	if err == nil {
		p.warnSentAsText(msg, typedErr)
	}
	return err
}

// warnSentAsText says that msg went with its headers as text, its typed
// headers refused with typedErr.
func (p *producer) warnSentAsText(msg amqp.Publishing, typedErr error) {
	p.log.Warn("rabbit: message sent with its headers as text: in their AMQP types they could not be sent (a consumer reading a typed header gets a string)",
		"binding", p.spec.Binding, "destination", p.spec.Destination, "message_id", msg.MessageId, "error", typedErr)
}

// withNativeHeaders returns msg with the values of native
// (stream.Envelope.NativeHeaders: a dead letter's AMQP header values, for
// its replay) in place of its text headers that still read as them
// (headerString), and whether it changed one. A value AMQP cannot encode
// keeps its text, with a warning.
func (p *producer) withNativeHeaders(msg amqp.Publishing, native map[string]any) (amqp.Publishing, bool) {
	if len(native) == 0 {
		return msg, false
	}
	h, skipped := typedHeaders(msg.Headers, native, nil)
	if len(skipped) > 0 {
		slices.Sort(skipped)
		p.log.Warn("rabbit: header values AMQP cannot encode are sent as text",
			"binding", p.spec.Binding, "destination", p.spec.Destination, "headers", strings.Join(skipped, ","))
	}
	if h == nil {
		return msg, false
	}
	msg.Headers = h
	return msg, true
}

// SendAsync is Send without waiting for the confirm (stream.AsyncProducer,
// pipelined processing): it publishes m on the lane of its routing key and
// key and returns; done gets what Send would have returned once the broker
// confirmed, nacked or returned m. It blocks while the lane's
// confirm-window is full, the connection is blocked or the channel is
// being opened again, bounded by ctx. Messages passed one after another
// from one goroutine are published in that order on one channel (for one
// routing key and key) and so stored in that order while nothing fails
// (also one sent with its headers as text because its typed headers did
// not fit: the text copy is published before SendAsync returns); a
// message whose channel is lost before its confirm, or whose exchange was
// deleted, is published again (as Send does) after the ones behind it,
// which may then come first.
func (p *producer) SendAsync(ctx context.Context, m stream.Envelope, done func(error)) {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	p.mu.RLock()
	if p.closed.Load() {
		p.mu.RUnlock()
		done(fmt.Errorf("rabbit: send to %q: producer %w", p.spec.Destination, stream.ErrClosed))
		return
	}
	p.inflight.Add(1)
	p.pending.Add(1)
	p.mu.RUnlock()
	if err := p.refusedProperty(m); err != nil {
		done(err)
		p.sent()
		return
	}
	if p.batch != nil {
		p.sendBatched(ctx, m, done)
		return
	}
	key, err := p.routingKey(m)
	if err != nil {
		done(stream.Permanent(fmt.Errorf("rabbit: send to %q (binding %s): %w", p.spec.Destination, p.spec.Binding, err)))
		p.sent()
		return
	}
	text := toPublishing(m, p.spec.ContentType)
	p.withDeliveryMode(&text)
	p.warnRoutingHeaders(m)
	start := time.Now()
	pub := p.bd.pub
	l := pub.laneFor(m, key)
	if p.gz != nil {
		if err := p.gz.compress(&text, pub.maxMessageSize); err != nil {
			done(p.result(ctx, l, key, text, start, err))
			p.sent()
			return
		}
	}
	msg, typed := p.withNativeHeaders(text, m.NativeHeaders)
	if !typed {
		pub.publishAsync(ctx, l, pub.attempt(p.exchange, key, p.opts.mandatory, msg), func(err error) {
			p.finishAsync(ctx, l, key, msg, start, err, done)
		})
		return
	}
	// Typed headers that do not fit are refused before the message is
	// published, and done called before publishAsync returns: the text
	// copy is then published here, on the caller's goroutine and the
	// key's lane, so that it keeps its place among the caller's messages.
	var (
		mu       sync.Mutex
		returned bool  // publishAsync returned
		refused  error // why the typed message was refused before that
	)
	pub.publishAsync(ctx, l, pub.attempt(p.exchange, key, p.opts.mandatory, msg), func(err error) {
		if typedRefused(err) {
			mu.Lock()
			if !returned {
				refused = err
				mu.Unlock()
				return
			}
			mu.Unlock()
			// Refused by the broker once published (its max_message_size):
			// published again, waiting: not on the lane's resolve goroutine.
			go func() {
				done(p.result(ctx, l, key, text, start, p.sendAsText(ctx, l, key, text, err)))
				p.sent()
			}()
			return
		}
		p.finishAsync(ctx, l, key, msg, start, err, done)
	})
	mu.Lock()
	returned = true
	typedErr := refused
	mu.Unlock()
	if typedErr != nil {
		pub.publishAsync(ctx, l, pub.attempt(p.exchange, key, p.opts.mandatory, text), func(err error) {
			if err == nil {
				p.warnSentAsText(text, typedErr)
			}
			p.finishAsync(ctx, l, key, text, start, err, done)
		})
	}
}

// finishAsync reports to done, and ends the count in flight of, a
// SendAsync whose publish of msg on lane l ended with err. A missing
// exchange is declared again and msg published once more (result) on a
// goroutine of its own: it waits, and finishAsync may run on the lane's
// resolve goroutine.
func (p *producer) finishAsync(ctx context.Context, l *lane, key string, msg amqp.Publishing, start time.Time, err error, done func(error)) {
	if err != nil && exchangeNotFound(err, p.exchange) {
		go func() {
			done(p.result(ctx, l, key, msg, start, err))
			p.sent()
		}()
		return
	}
	done(p.result(ctx, l, key, msg, start, err))
	p.sent()
}

// sent ends a Send's (or SendAsync's) count in flight.
func (p *producer) sent() {
	p.pending.Add(-1)
	p.inflight.Done()
}

// result is Send's result for msg (routing key key), whose publish on
// lane l that started at start returned err: when the exchange was
// missing, the binding's topology is declared again and msg published once
// more on l (waiting for its confirm); the binding's health follows the
// outcome; errors are wrapped, permanent ones with stream.Permanent.
func (p *producer) result(ctx context.Context, l *lane, key string, msg amqp.Publishing, start time.Time, err error) error {
	if err != nil && exchangeNotFound(err, p.exchange) {
		if !p.opts.declareExchange {
			p.setDown(start, fmt.Errorf("exchange %q does not exist (declare-exchange is false, so the binding does not declare it)", p.exchange))
		} else if rerr := p.recover(ctx, start); rerr != nil {
			p.setDown(start, fmt.Errorf("exchange %q does not exist and cannot be declared again: %v", p.exchange, rerr))
			// Not the message's fault: the error stays transient.
			err = fmt.Errorf("%w; declaring it again failed: %v", err, rerr)
		} else {
			err = p.publishOn(ctx, l, key, msg)
		}
	}
	switch {
	case err == nil:
		p.setDown(start, nil)
		return nil
	case isRefused(err):
		// The destination is forbidden: the binding's fault, not the
		// message's. The error stays transient (the core leaves the input
		// for redelivery) and the binding reports itself down.
		p.setDown(start, fmt.Errorf("the broker refuses publishing to exchange %q: %v", p.exchange, err))
	}
	if pv, ok := msg.Headers[stream.HeaderPartition]; ok && p.partitioned && errors.Is(err, ErrUnroutable) {
		err = fmt.Errorf("%w; %s", err, p.unroutablePartition(headerString(pv), key))
	}
	err = fmt.Errorf("rabbit: send to %q (binding %s): %w", p.spec.Destination, p.spec.Binding, err)
	if isPermanent(err) {
		return stream.Permanent(err)
	}
	return err
}

// unroutablePartition says why a message for partition ps, published
// with routing key key, was returned unroutable, and what to do: no queue
// of a consumer group is bound for that partition. A group's queue of
// partition n is declared and bound (with <destination>-<n>) by the
// group's consumer with instance-index n (or n in its
// instance-index-list), or, for every partition at once, by a producer
// whose required-groups names the group.
func (p *producer) unroutablePartition(ps, key string) string {
	if gs := p.spec.Producer.RequiredGroups; len(gs) > 0 {
		qs := make([]string, len(gs))
		for i, g := range gs {
			qs[i] = p.opts.baseQueue(p.spec.Destination, strings.TrimSpace(g)) + "-" + ps
		}
		return fmt.Sprintf("partition %s of %q has no queue bound with %q: the binding declared its required-groups' queue of that partition (%s) when it started, and it is gone or not bound (bind-queue: false); restart the binding to declare it again, or start the group's consumer with instance-index %s",
			ps, p.spec.Destination, key, strings.Join(qs, ", "), ps)
	}
	return fmt.Sprintf("partition %s of %q has no queue bound with %q: no consumer group's queue of that partition (%s) exists; the group's consumer with instance-index %s (or %s in its instance-index-list) declares and binds it when it starts, a producer with required-groups every partition's: set producer.required-groups of binding %s to the consumers' group, or start the group's consumers of every partition (instance-index 0 to %d) first",
		ps, p.spec.Destination, key, p.opts.baseQueue(p.spec.Destination, "<group>")+"-"+ps, ps, ps, p.spec.Binding, max(p.spec.Producer.PartitionCount, 1)-1)
}

// routingKey is the routing key of m, as SCSt computes it:
// routing-key-expression, else routing-key, else the destination; for a
// partitioned message (scst_partition header) suffixed -<partition>. An
// expression that cannot be evaluated on m is m's fault (no key).
func (p *producer) routingKey(m stream.Envelope) (string, error) {
	key := p.opts.routingKey
	if p.opts.routingKeyExpr != nil {
		var err error
		if key, err = p.opts.routingKeyExpr(m); err != nil {
			return "", err
		}
	}
	if key == "" {
		key = p.spec.Destination
	}
	if p.partitioned {
		if ps := m.Headers[stream.HeaderPartition]; ps != "" {
			key += "-" + ps
		}
	}
	if len(key) > maxShortstr {
		return "", fmt.Errorf("routing key %.60q… is %d bytes; AMQP allows at most %d", key, len(key), maxShortstr)
	}
	return key, nil
}

// routingKeyDoc describes the routing key for the start-up log line.
func (p *producer) routingKeyDoc() string {
	var key string
	switch {
	case p.opts.routingKeyExpr != nil:
		key = "(routing-key-expression)"
	case p.opts.routingKey != "":
		key = p.opts.routingKey
	default:
		key = p.spec.Destination
	}
	if p.partitioned {
		key += "-<partition>"
	}
	return key
}

// recover declares the binding's topology again after its exchange was
// found missing by a send that started at since, together with the queue
// bindings of this binder's consumers of that exchange (deleting an
// exchange deletes its bindings). Concurrent sends share one declaration;
// while declaring fails it is tried at most once per redeclareInterval.
func (p *producer) recover(ctx context.Context, since time.Time) error {
	p.redeclMu.Lock()
	defer p.redeclMu.Unlock()
	if p.redeclAt.After(since) || (p.redeclErr != nil && time.Since(p.redeclAt) < redeclareInterval) {
		return p.redeclErr
	}
	err := p.declare(ctx)
	p.redeclAt, p.redeclErr = time.Now(), err
	if err != nil {
		p.log.Warn("rabbit: output exchange deleted and declaring it again failed; the binding is down until a send succeeds", "exchange", p.exchange, "error", err)
		return err
	}
	p.log.Warn("rabbit: output exchange was deleted; declared it again", "exchange", p.exchange)
	p.bd.rebindConsumers(ctx, p.exchange)
	return nil
}

// declare declares the producer's topology on a channel of its own.
func (p *producer) declare(ctx context.Context) error {
	return p.bd.pubMgr.declare(ctx, p.topo)
}

// setDown records the result of a send that started at start: err is why
// the binding cannot send (nil: it can). Results that are older than what
// is known are dropped (see lastOK).
func (p *producer) setDown(start time.Time, err error) {
	at := int64(start.Sub(p.born)) // monotonic
	if err == nil {
		for {
			ok := p.lastOK.Load()
			if at <= ok || p.lastOK.CompareAndSwap(ok, at) {
				break
			}
		}
		// Cleared only by a send that started after the one that found the
		// cause: an older send's success says nothing of it.
		for d := p.down.Load(); d != nil && at > d.at; d = p.down.Load() {
			if p.down.CompareAndSwap(d, nil) {
				break
			}
		}
		return
	}
	if at < p.lastOK.Load() {
		return // a send that started later succeeded: the cause is gone
	}
	nd := &downCause{err: err, at: at}
	for {
		d := p.down.Load()
		if d != nil && d.at > at {
			return // a later-started send's cause is the news
		}
		if p.down.CompareAndSwap(d, nd) {
			return
		}
	}
}

// downCause is why a producer binding is down and the start of the send
// that found it (see producer.down).
type downCause struct {
	err error
	at  int64 // since producer.born, monotonic
}

// Health is nil unless the binding's exchange is known to be missing and
// could not be declared again; it clears when a send succeeds. It
// implements [stream.BindingHealthChecker].
func (p *producer) Health(context.Context) error {
	if d := p.down.Load(); d != nil {
		return fmt.Errorf("rabbit: producer %s cannot send to %q: %w", p.spec.Binding, p.spec.Destination, d.err)
	}
	return nil
}

// Close waits (bounded by ctx) for the Sends (and SendAsyncs) in flight to
// be confirmed; with batching-enabled it first publishes the open batches,
// and when ctx ends those not yet confirmed fail their Sends.
// Later Sends fail with stream.ErrClosed.
func (p *producer) Close(ctx context.Context) error {
	p.mu.Lock()
	already := p.closed.Swap(true)
	p.mu.Unlock()
	if already {
		return nil
	}
	p.bd.forget(p)
	if p.batch != nil {
		// The open batches go now; their Sends are in flight until
		// confirmed.
		p.batch.flush()
	}
	if p.pending.Load() == 0 {
		// Nothing in flight (and closed: nothing more comes); with ctx
		// ended, the select below would choose at random.
		if p.batch != nil {
			p.batch.close(p, false)
		}
		return nil
	}
	done := make(chan struct{})
	go func() { p.inflight.Wait(); close(done) }()
	select {
	case <-done:
		if p.batch != nil {
			p.batch.close(p, false)
		}
		return nil
	case <-ctx.Done():
		if p.batch != nil {
			// The batches not yet confirmed fail their Sends.
			p.batch.close(p, true)
		}
		return fmt.Errorf("rabbit: close producer %s: sends still unconfirmed: %w", p.spec.Binding, ctx.Err())
	}
}

// withDeliveryMode gives msg the binding's delivery mode (SCSt's
// delivery-mode): transient (1) with NON_PERSISTENT; toPublishing's
// persistent (2) otherwise.
func (p *producer) withDeliveryMode(msg *amqp.Publishing) {
	if p.opts.transient {
		msg.DeliveryMode = amqp.Transient
	}
}

// toPublishing maps an envelope to an AMQP message: persistent, headers as
// AMQP string headers, content_type property and contentType header,
// message_id property from the id header (or generated by the publisher).
// As Spring AMQP's outbound mapper (SCSt's producer), no amqp_* header is
// sent: amqp_correlationId, amqp_replyTo, amqp_type, amqp_appId,
// amqp_contentEncoding, amqp_expiration and amqp_userId set those
// properties, and a priority header that reads as 0-255 the priority
// (and is sent too; refusedProperty refuses an expiration or user_id
// the broker would); a function's output inherits them from an input
// received from RabbitMQ (withDeliveryHeaders), so a request/reply keeps
// its correlation through the hop. A replayed dead letter's headers are
// sent as they are, with its own properties (nativeProperties).
// A property is a short string (at most 255 bytes) while a header value is
// not: a longer content type or id stays in its header only, and the
// property is left empty (the consumer reads the header first).
func toPublishing(m stream.Envelope, defContentType string) amqp.Publishing {
	ct := m.ContentType(defContentType)
	h := make(amqp.Table, len(m.Headers)+2)
	// A replayed dead letter's properties (nativeProperties); without
	// them, the amqp_* headers set properties (propertyFromHeader).
	replayed, isReplay := m.NativeHeaders[nativeProperties].(properties)
	var fromHeaders amqp.Publishing // the properties the headers set
	for k, v := range m.Headers {
		if isRoutingHeader(k) {
			continue
		}
		if !isReplay && strings.HasPrefix(k, amqpHeaderPrefix) {
			propertyFromHeader(&fromHeaders, k, v)
			continue
		}
		if k == stream.HeaderPartition {
			h[k] = partitionField(v)
			continue
		}
		h[k] = v
	}
	if v, ok := m.Headers[priorityHeader]; ok && !isReplay {
		propertyFromHeader(&fromHeaders, priorityHeader, v)
	}
	if ct != "" {
		h[stream.HeaderContentType] = ct
	}
	if len(m.Key) > 0 {
		h[keyHeader] = string(m.Key)
	}
	msg := amqp.Publishing{
		Headers:      h,
		ContentType:  shortstr(ct),
		DeliveryMode: amqp.Persistent,
		MessageId:    shortstr(m.Headers[stream.HeaderID]),
		Body:         m.Payload,
		// Spring AMQP's outbound mapping (SCSt's producer)
		ContentEncoding: fromHeaders.ContentEncoding,
		CorrelationId:   fromHeaders.CorrelationId,
		ReplyTo:         fromHeaders.ReplyTo,
		Type:            fromHeaders.Type,
		AppId:           fromHeaders.AppId,
		Priority:        fromHeaders.Priority,
		Expiration:      fromHeaders.Expiration,
		UserId:          fromHeaders.UserId,
	}
	if isReplay {
		replayed.apply(&msg) // a replayed dead letter's
		replayed.dropAddedHeaders(h)
	}
	return msg
}

// partitionField is the AMQP value of an scst_partition header whose text
// is v: an int (signed 32-bit) when v is one written as Go and Java write
// an int ("2", "-1"; not "02" nor "+2"), else v. SCSt's producer sets the
// header to the Integer its PartitionHandler determined
// (MessageConverterConfigurer's PartitioningInterceptor:
// setHeader(BinderHeaders.PARTITION_HEADER, partition), an int), and
// Spring AMQP's header mapper writes an Integer as an AMQP int, so a Java
// consumer's headers['scst_partition'] reads an Integer, as SCSt's own
// messages give it. Streambind's consumers read both (headerString), the
// string form of messages written before included.
func partitionField(v string) any {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || strconv.FormatInt(n, 10) != v {
		return v
	}
	return int32(n)
}

// maxExpiration is the largest expiration property RabbitMQ accepts, in
// milliseconds: ten years (3.10 refuses more: value_too_large).
const maxExpiration = 315_360_000_000

// refusedProperty returns the error of a Send of m (permanent, wrapping
// errRefusedProperty) when its amqp_expiration or amqp_userId header
// would set a property RabbitMQ refuses, nil otherwise. Spring AMQP's
// outbound mapper sets them as they are, and RabbitMQ closes the channel
// (406 PRECONDITION_FAILED): with it went the confirms of every message
// in flight on the channel, each published again (stored twice when the
// broker had it). So the message is refused before it is published, on
// its own, as one that cannot be encoded is (a batching producer's too,
// before it joins a batch). Nothing is checked (two map look-ups) for a
// message without these headers, nor for a replayed dead letter, whose
// amqp_* headers are sent as they are (toPublishing).
//
//   - amqp_expiration must read as RabbitMQ reads a TTL: an optional sign,
//     ASCII digits, a value from 0 to maxExpiration ("-0", "+5" and "007"
//     pass; "-5", "abc", " 5", "1.5" do not). Empty or blank, it sets no
//     expiration (Spring's mapper sets it only when it has text).
//   - amqp_userId must be the user the binder connects as (RabbitMQ
//     compares user_id with the connection's user, exactly). With
//     addresses of different users that is not known here: the broker
//     decides, and its refusal fails that message alone
//     (propertyRefused). A user with RabbitMQ's impersonator tag may
//     name another user; the binder refuses it all the same.
//
// Unlike priority, which Spring's mapper maps only when it is an Integer
// (so a priority header that is not 0-255 sets no property and is sent as
// a header), these are mapped whatever their text, and are never sent as
// headers: dropped, the message would go without the TTL or user its
// sender asked for.
func (p *producer) refusedProperty(m stream.Envelope) error {
	if len(m.Headers) == 0 {
		return nil
	}
	exp, hasExp := m.Headers[headerExpiration]
	uid, hasUID := m.Headers[headerUserID]
	if !hasExp && !hasUID {
		return nil
	}
	if _, replay := m.NativeHeaders[nativeProperties].(properties); replay {
		return nil
	}
	var err error
	if hasExp && !validExpiration(exp) {
		err = fmt.Errorf("%w: header %s %.40q is not a message TTL RabbitMQ accepts (milliseconds: a whole number from 0 to %d, ten years); the broker would close the channel (406 PRECONDITION_FAILED)",
			errRefusedProperty, headerExpiration, exp, maxExpiration)
	} else if user := connUser(p.bd.s); hasUID && uid != "" && user != "" && uid != user {
		err = fmt.Errorf("%w: header %s %.40q is not the user the binder connects as (%q); RabbitMQ refuses a user_id property naming another user (406 PRECONDITION_FAILED, closing the channel)",
			errRefusedProperty, headerUserID, uid, user)
	}
	if err == nil {
		return nil
	}
	return stream.Permanent(fmt.Errorf("rabbit: send to %q (binding %s): %w", p.spec.Destination, p.spec.Binding, err))
}

// validExpiration reports whether header value v sets an expiration
// property RabbitMQ accepts, or none (refusedProperty).
func validExpiration(v string) bool {
	if strings.TrimSpace(v) == "" {
		return true // no expiration (expirationOf)
	}
	if len(v) > maxShortstr {
		return false
	}
	neg := v[0] == '-'
	if neg || v[0] == '+' {
		v = v[1:]
	}
	if v == "" || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return false
	}
	v = strings.TrimLeft(v, "0")
	if v == "" {
		return true // 0, whatever its sign
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return !neg && err == nil && n <= maxExpiration
}

// expirationOf is the expiration property header value v sets: none when
// it is blank, as Spring's mapper sets it only when it has text.
func expirationOf(v string) string {
	if strings.TrimSpace(v) == "" {
		return ""
	}
	return shortstr(v)
}

// connUser is the user name every address of s connects as, "" when
// they differ.
func connUser(s settings) string {
	if len(s.endpoints) == 0 {
		return ""
	}
	u := s.endpoints[0].username
	for _, ep := range s.endpoints[1:] {
		if ep.username != u {
			return ""
		}
	}
	return u
}

// isRoutingHeader reports whether header k is one RabbitMQ takes as
// routing instructions (sender-selected distribution: CC, BCC, exact
// case) and refuses the message for unless it is an array of routing
// keys (PRECONDITION_FAILED, unacceptable_type_in_header). An envelope's
// header is text, so toPublishing leaves them out: a function's output
// inherits the CC of an input another client published with one (and a
// retry's copy or a dead letter has it), and each was refused for good.
func isRoutingHeader(k string) bool { return k == "CC" || k == "BCC" }

// warnRoutingHeaders logs, once per producer, that m's CC or BCC header is
// not sent (toPublishing).
func (p *producer) warnRoutingHeaders(m stream.Envelope) {
	if p.routingHeaderWarned.Load() || len(m.Headers) == 0 {
		return // two map look-ups a message, not a loop over its headers
	}
	for _, k := range [...]string{"CC", "BCC"} {
		if _, ok := m.Headers[k]; ok && p.routingHeaderWarned.CompareAndSwap(false, true) {
			p.log.Warn("rabbit: header "+k+" not sent (nor BCC or CC in later messages): RabbitMQ takes it as routing keys to send the message to as well, and refuses the message when it is not an array of them, which a message's text header is not; such a header is usually inherited from an input another client published with one",
				"destination", p.spec.Destination)
		}
	}
}

// shortstr is s when AMQP can carry it in a short-string property, else "".
func shortstr(s string) string {
	if len(s) > maxShortstr {
		return ""
	}
	return s
}

// fromDelivery maps an AMQP message to an envelope. Non-string header
// values are formatted, and kept in their AMQP types in NativeHeaders
// (nil when every value is a string: nothing allocated), so that a
// producer of the binder sends them in those types again while their
// text is unchanged: a function's output (the core carries them), a
// dead letter's replay; message_id becomes the id header and content_type
// the contentType header when those are absent.
func fromDelivery(d *amqp.Delivery) stream.Envelope {
	return fromDeliverySized(d, len(d.Headers)+2)
}

// fromDeliverySized is fromDelivery with a headers map made for size
// headers (the consumer's envelope adds more: envelopeSize).
func fromDeliverySized(d *amqp.Delivery, size int) stream.Envelope {
	h := make(stream.Headers, size)
	var key []byte
	var native map[string]any
	for k, v := range d.Headers {
		switch k {
		case keyHeader:
			key = []byte(headerString(v))
			continue
		case pubHeader:
			continue
		}
		s, ok := v.(string)
		if !ok {
			s = headerString(v)
			if native == nil {
				native = make(map[string]any)
			}
			native[k] = v
		}
		h[k] = s
	}
	if _, ok := h[stream.HeaderContentType]; !ok && d.ContentType != "" {
		h[stream.HeaderContentType] = d.ContentType
	}
	if _, ok := h[stream.HeaderID]; !ok && d.MessageId != "" {
		h[stream.HeaderID] = d.MessageId
	}
	return stream.Envelope{Payload: d.Body, Headers: h, Key: key, NativeHeaders: native}
}

func headerString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	case amqp.Decimal:
		return decimalString(x)
	default:
		return fmt.Sprint(x)
	}
}

// decimalString writes an AMQP decimal as a decimal number, Value scaled
// down by Scale places ("1.50" for {Scale: 2, Value: 150}), as a Java
// client's BigDecimal prints it, rather than Go's "{2 150}".
func decimalString(d amqp.Decimal) string {
	v := int64(d.Value)
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	if sc := int(d.Scale); sc > 0 {
		if len(s) <= sc {
			s = strings.Repeat("0", sc-len(s)+1) + s
		}
		s = s[:len(s)-sc] + "." + s[len(s)-sc:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
