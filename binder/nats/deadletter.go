package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/internal/dlhold"
	"github.com/streambind/streambind/stream"
)

// natsHeaderOverhead is what each header costs on the wire beyond its name
// and value ("name: value\r\n"); natsHeaderFixed is the header block's own
// ("NATS/1.0\r\n" and the closing "\r\n").
const (
	natsHeaderOverhead = 4
	natsHeaderFixed    = 12
)

// maxHeaderBlock is the most bytes JetStream stores of a message's header
// block (natsHeaderFixed included): it refuses a message with more
// (err_code 10097, "header size exceeds maximum allowed of 64k"), whatever
// max_payload allows.
const maxHeaderBlock = 65535

// errCodeHeaderTooLarge is JetStream's error code for a header block over
// maxHeaderBlock.
const errCodeHeaderTooLarge jetstream.ErrorCode = 10097

// wireSize is the size NATS counts against max_payload for a message with
// headers h and payload data.
func wireSize(h natsgo.Header, data []byte) int {
	n := len(data)
	if len(h) > 0 {
		n += natsHeaderFixed
		for k, vs := range h {
			for _, v := range vs {
				n += len(k) + len(v) + natsHeaderOverhead
			}
		}
	}
	return n
}

// storeOverhead is what JetStream counts against a stream's max-bytes for
// each message with headers beyond its subject, header block and payload
// (file storage: 34 bytes; memory: 16).
const storeOverhead = 34

// dlqLimit is the most bytes (headers and payload) a dead letter may have:
// the server's max_payload, or the dead-letter stream's max-msg-size or
// max-bytes (less the subject and storeOverhead) when smaller. A dead
// letter over max-bytes was refused for ever (discard new: the message
// came back after each delay, never dead-lettered) or stored and dropped
// at once to keep the limit (discard old: the message terminated, its
// dead letter gone).
func (c *consumer) dlqLimit() int {
	limit := int(c.conn.nc.MaxPayload())
	ref := c.dlqRef.Load()
	if m := int(ref.maxMsgSize); m > 0 && (limit <= 0 || m < limit) {
		limit = m
	}
	if ref.maxBytes > 0 {
		if m := max(int(min(ref.maxBytes, 1<<40))-len(c.dlqSubject)-storeOverhead, 1); limit <= 0 || m < limit {
			limit = m
		}
	}
	return limit
}

// deadLetterMsg builds the dead letter of h: its payload, key and headers
// plus those of [stream.DeadLetterHeaders] and the x-original-* headers,
// fitted to limit bytes, and its header block to the 64 KiB JetStream
// stores (maxHeaderBlock), with [stream.FitDeadLetter]. The fit is
// measured on the wire (encoded header values are longer than their text),
// and tightened until the message fits. msgID is the Nats-Msg-Id it is
// published with (counted, as it travels as a header).
func (c *consumer) deadLetterMsg(h *held, cause error, limit int, msgID string, dropPayload bool) (*natsgo.Msg, stream.DeadLetterFit) {
	env := h.env // loaded in a copy: h.env is read by other goroutines (route)
	hdrs := stream.DeadLetterHeaders(env.LoadHeaders(), cause)
	hdrs[stream.HeaderOriginalTopic] = c.dest
	if p := partitionOf(c.dest, h.subject); p >= 0 {
		hdrs[stream.HeaderOriginalPartition] = strconv.Itoa(p)
	}
	hdrs[HeaderOriginalSubject] = h.subject
	hdrs[HeaderOriginalStream] = c.ref.name
	if h.seq > 0 {
		hdrs[HeaderOriginalSequence] = strconv.FormatUint(h.seq, 10)
		hdrs[stream.HeaderOriginalTimestamp] = strconv.FormatInt(h.ts.UnixMilli(), 10)
	}
	if hdrs[stream.HeaderContentType] == "" && c.spec.ContentType != "" {
		hdrs[stream.HeaderContentType] = c.spec.ContentType
	}
	// The publish adds Nats-Msg-Id and Nats-Expected-Stream.
	reserve := len(jetstream.MsgIDHeader) + len(msgID) + len(jetstream.ExpectedStreamHeader) + len(c.dlqRef.Load().name) + 2*natsHeaderOverhead + natsHeaderFixed
	budget := limit - reserve
	hbudget := maxHeaderBlock - reserve
	var fit stream.DeadLetterFit
	for range 8 {
		dl := stream.Envelope{Payload: h.env.Payload, Headers: maps.Clone(hdrs), Key: h.env.Key}
		fit = stream.FitDeadLetter(&dl, stream.DeadLetterLimit{MaxBytes: budget, MaxHeaderBytes: hbudget, HeaderOverhead: natsHeaderOverhead, DropPayload: dropPayload,
			// Original headers NATS cannot carry (another client wrote
			// them, e.g. nats-custom): dropped and listed, all at once.
			Unsendable: func(k string) bool { return checkHeaderName(k) != nil }})
		nh, _, err := toHeader(dl, "", func() string { return "" })
		if err != nil {
			return nil, stream.DeadLetterFit{}
		}
		delete(nh, stream.HeaderID)
		if id := dl.Headers[stream.HeaderID]; id != "" {
			nh[stream.HeaderID] = []string{id}
		}
		size := wireSize(nh, dl.Payload) + reserve
		hsize := wireSize(nh, nil) + reserve
		if !fit.Fits || (size <= limit && hsize <= maxHeaderBlock) {
			return &natsgo.Msg{Subject: c.dlqSubject, Header: nh, Data: dl.Payload}, fit
		}
		if size > limit {
			budget -= size - limit + 16
		}
		if hsize > maxHeaderBlock {
			hbudget -= hsize - maxHeaderBlock + 16
		}
	}
	return nil, stream.DeadLetterFit{}
}

// deadLetter publishes the dead letter of h to the dead-letter subject and
// waits for its PubAck. After an attempt that failed for now (no stream
// answered, the dead-letter stream refused it: full with discard new; no
// connection), again decides: it waits and returns true to try once more,
// or false to give up (fewAttempts, holdDeadLetter). A dead letter the
// server refuses for its size is sent once more without its payload; when
// even that cannot be sent, or it cannot fit at all, or JetStream refuses
// its header block as too large (no retry fixes that), the message is
// dropped (ERROR log, counted) and deadLetter returns nil, so that it is
// terminated rather than redelivered forever. Other failures return an
// error. A dead letter that went clears the binding's dead-letter health
// (dlDown).
func (r *run) deadLetter(ctx context.Context, h *held, cause error, again func(attempt int, err error) bool) error {
	c := r.c
	// The stream's creation time tells the messages of a stream deleted
	// and made again apart (its sequences start over): without it a
	// message's dead letter within the duplicate window of an earlier
	// one of the same sequence was taken for that one's and not stored,
	// and the message terminated.
	msgID := fmt.Sprintf("dlq-%s-%d-%d", c.ref.name, r.createdOf(h, r.created.Load()), h.seq)
	if h.seq == 0 {
		msgID = ""
	}
	limit := c.dlqLimit()
	msg, fit := c.deadLetterMsg(h, cause, limit, msgID, false)
	if msg == nil || !fit.Fits {
		return r.dropDeadLetter(h, cause, fmt.Errorf("the dead letter does not fit %d bytes (max_payload, or the dead-letter stream's max-msg-size) and JetStream's %d-byte header block even without its payload", limit, maxHeaderBlock))
	}
	c.countFit(h, fit, limit)
	for attempt := 1; ; attempt++ {
		err := r.publishDeadLetter(ctx, msg, msgID)
		if err == nil {
			c.dlDown.Clear()
			c.log.Debug("nats: dead-lettered", "sequence", h.seq, "dlq", c.dlqSubject)
			return nil
		}
		if isPermanentPublish(err, c.conn.nc) {
			if !fit.HeadersOnly && isSizeError(err) {
				// The limit it was fitted to was stale (the stream's
				// max-msg-size changed): send it without payload.
				c.log.Warn("nats: the server refused the dead letter for its size; sending it without payload", "sequence", h.seq, "error", c.bd.logErr(err))
				c.refreshDLQ(ctx)
				limit = c.dlqLimit()
				prev := fit
				msg, fit = c.deadLetterMsg(h, cause, limit, msgID, true)
				if msg == nil || !fit.Fits {
					return r.dropDeadLetter(h, cause, err)
				}
				c.stats.Refitted(prev, fit)
				continue
			}
			if isSizeError(err) || apiCode(err) == errCodeHeaderTooLarge {
				return r.dropDeadLetter(h, cause, err)
			}
			// Refused otherwise (no permission, a dead-letter subject
			// another stream captures): again decides, as for a failure
			// for now; an operator may fix it.
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) && c.conn.nc.IsConnected() {
			// Connected, yet no stream answers: the dead-letter stream may
			// have been deleted. Provision it again.
			c.refreshDLQ(ctx)
		}
		if ctx.Err() != nil || !again(attempt, err) {
			return fmt.Errorf("%d attempts: %w", attempt, err)
		}
	}
}

// fewAttempts is deadLetter's again for a message that cannot be held (on
// its last delivery, of a stream deleted since, read for a max-deliveries
// advisory): dlq-attempts attempts in all, waiting redelivery-delay (at
// least 50ms) doubling to 5s between them.
func (r *run) fewAttempts(ctx context.Context) func(int, error) bool {
	back := dispatch.Backoff{Initial: max(r.c.cs.redeliveryDelay, 50*time.Millisecond), Max: 5 * time.Second}
	return func(attempt int, err error) bool {
		return !isPermanentPublish(err, r.c.conn.nc) && attempt < r.c.cs.dlqAttempts && dispatch.Sleep(ctx, back.Delay(attempt))
	}
}

// holdDeadLetter is deadLetter's again for a failed message whose handler
// has run (settle): the message is held, unacknowledged — it stays in
// run.held, so the keeper's in-progress acks keep JetStream from
// redelivering it past ack-wait — and only its dead-letter publish is
// retried, for as long as it fails for now, instead of a Nak that ran the
// handler again at each redelivery (a payment made again and again for as
// long as the dead-letter stream is full). The hold is no handler call
// (pool.Hold): Pause does not wait for it, and it retries nothing while
// paused. After dlq-attempts failed attempts the binding's Health reports
// its dead letters down until one goes. The hold ends when the run stops
// (pool.Hold false, or ctx ended): deadLetter returns an error, and the
// caller gives the message back at once. *wasHeld is set at the first
// failure. The publish is retried after redelivery-delay (at least 100ms)
// doubling to 5s (dlhold.Retry; a longer redelivery-delay stays); the WARN lines are paced by a
// dlhold.NewPacer (DEBUG in between).
func (r *run) holdDeadLetter(ctx context.Context, h *held, wasHeld *bool) func(int, error) bool {
	c := r.c
	back := dlhold.Retry(c.cs.redeliveryDelay)
	pacer := dlhold.NewPacer()
	var since time.Time
	return func(attempt int, err error) bool {
		now := time.Now()
		if attempt == 1 {
			since = now
			*wasHeld = true
		}
		if attempt == c.cs.dlqAttempts {
			down := fmt.Errorf("the dead-letter stream %s does not take the dead letters (the consumer holds its failed messages, unacknowledged, until it does): %w", c.dlqRef.Load().name, err)
			c.dlDown.Set(down)
		}
		retryIn := back.Delay(attempt)
		args := []any{"stream", c.ref.name, "sequence", h.seq, "dlq", c.dlqSubject, "attempts", attempt, "retry_in", retryIn.Round(time.Millisecond), "held_for", now.Sub(since).Round(time.Millisecond), "error", c.bd.logErr(err)}
		if pacer.Warn(now) {
			c.log.Warn("nats: dead-lettering failed; the failed message is held, unacknowledged, until the dead-letter stream takes it, its publish retried with back-off: the handler is not called again for it", args...)
		} else {
			c.log.Debug("nats: dead-lettering failed; holding the failed message, retrying", args...)
		}
		if ctx.Err() == nil && r.pool.Hold(retryIn) && ctx.Err() == nil {
			return true
		}
		c.log.Warn("nats: the consumer is stopping; the failed message held for its dead letter is given back", "stream", c.ref.name, "sequence", h.seq, "attempts", attempt, "held_for", time.Since(since).Round(time.Millisecond))
		return false
	}
}

// refreshDLQ looks the dead-letter stream up again (its limits may have
// changed), provisioning it when it is gone.
func (c *consumer) refreshDLQ(ctx context.Context) {
	c.bd.forgetStream(c.dlqSubject)
	ref, err := c.bd.ensureDeadLetterStream(ctx, c.conn, c.dlqSubject)
	if err != nil {
		lvl := slog.LevelWarn
		if isTransient(err) {
			// JetStream not answering (a restart, an election): the
			// dead letter's attempts go on; not a WARN each time.
			lvl = slog.LevelDebug
		}
		c.log.Log(context.Background(), lvl, "nats: the dead-letter stream cannot be looked up or provisioned", "dlq", c.dlqSubject, "error", c.bd.logErr(err))
		return
	}
	c.dlqRef.Store(ref)
}

// countFit counts and logs what fitting cut from a dead letter.
func (c *consumer) countFit(h *held, fit stream.DeadLetterFit, limit int) {
	if len(fit.Cut) == 0 {
		return
	}
	c.stats.Fitted(fit)
	c.log.Warn("nats: dead letter cut to fit the server's limit", "sequence", h.seq, "limit", limit, "cut", fit.String())
}

func isSizeError(err error) bool {
	return errors.Is(err, natsgo.ErrMaxPayload) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum)
}

// dropDeadLetter logs (ERROR) and counts a failed message that cannot be
// dead-lettered at all; it returns nil so that the message is terminated.
func (r *run) dropDeadLetter(h *held, cause, why error) error {
	c := r.c
	c.log.Error("nats: failed message dropped: its dead letter cannot be sent", "sequence", h.seq, "subject", h.subject, "dlq", c.dlqSubject, "reason", c.bd.logErr(why), "error", c.bd.logErr(cause))
	c.stats.Dropped() // after the log line: what the count shows is logged
	return nil
}

func (r *run) publishDeadLetter(ctx context.Context, msg *natsgo.Msg, msgID string) error {
	c := r.c
	ctx, cancel := context.WithTimeout(ctx, DefaultSendTimeout)
	defer cancel()
	opts := []jetstream.PublishOpt{jetstream.WithExpectStream(c.dlqRef.Load().name), noPublishRetries}
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	fut, err := c.conn.js.PublishMsgAsync(msg, opts...)
	if err != nil {
		return err
	}
	select {
	case <-fut.Ok():
		return nil
	case err := <-fut.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
