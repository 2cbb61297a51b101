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

	gate binding.Gate // sends in progress; closed by Close

	// Sends JetStream acknowledged as a duplicate that were not the
	// binder's own retry (stream.SendStats.Duplicates), and the pacing of
	// their WARN.
	duplicates atomic.Int64
	dupWarn    pace.Gate
}

var (
	_ stream.Producer             = (*producer)(nil)
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
		return fmt.Errorf("nats: send to %s: producer %w", p.dest, stream.ErrClosed)
	}
	defer p.gate.Exit()
	h, id, err := toHeader(m, p.contentType, p.ids.Next)
	if err != nil {
		return stream.Permanent(fmt.Errorf("nats: send to %s: %w", p.dest, err))
	}
	msg := &natsgo.Msg{Subject: p.subject(m), Header: h, Data: m.Payload}
	if err := p.checkMaxBytes(ctx, msg, id); err != nil {
		return err
	}
	err = p.publish(ctx, msg, id, p.ps.sendAttempts)
	if err != nil && apiCode(err) == errCodeHeaderTooLarge {
		err = headerTooLarge(err, h, m.Key)
	}
	return err
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
	sent := false // an attempt went out and had no answer: it may have been stored
	for attempt := 1; ; attempt++ {
		dup, err := p.publishOnce(ctx, msg, id)
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
			return p.bd.wrap(err, "nats: send to %s: no PubAck (the message may still have been stored; a send again with its id within the duplicate window is not stored twice)", msg.Subject)
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
	ref := p.ref.Load()
	fut, err := p.c.js.PublishMsgAsync(msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(ref.name), noPublishRetries)
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
// progress. It is idempotent.
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
		go func() { // the sends end within their send-timeouts
			<-idle
			p.c.js.CleanupPublisher()
		}()
		return fmt.Errorf("nats: close producer %s: sends still waiting for their PubAck: %w", p.binding, err)
	}
	p.c.js.CleanupPublisher() // its reply subscription
	return nil
}
