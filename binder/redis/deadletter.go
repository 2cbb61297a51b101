package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/internal/batchprefix"
	"github.com/streambind/streambind/binder/internal/dlhold"
	"github.com/streambind/streambind/binder/internal/replaygroup"
	"github.com/streambind/streambind/stream"
)

// errTooManyDeliveries is the cause of a dead letter whose entry Redis
// delivered more than max-deliveries times without an acknowledgement.
var errTooManyDeliveries = errors.New("delivered too many times without being acknowledged")

// handle is the pool's handler: it calls the binding's handler and
// settles the entries — acknowledged, held and handled again (Nak),
// dead-lettered or dropped (Term) — as the package doc describes.
func (r *run) handle(ctx context.Context, es []*entry) {
	c := r.c
	live := es
	if live = replaygroup.Drop(live, c.spec.Group, entryEnv, r.skipReplayed); len(live) == 0 {
		return
	}
	if limit := c.cs.maxDeliveries; limit > 0 && c.group != "" && slices.ContainsFunc(live, func(e *entry) bool { return e.n > int64(limit) }) {
		all := live
		live = make([]*entry, 0, len(all))
		for _, e := range all {
			if e.n > int64(limit) {
				c.log.Warn("redis: entry delivered more than max-deliveries times; not handled again", "stream", e.key, "id", e.id, "deliveries", e.n, "max-deliveries", limit)
				r.terminate(ctx, []*entry{e}, fmt.Errorf("redis: entry %s of %s: %w (%d deliveries, max-deliveries %d)", e.id, e.key, errTooManyDeliveries, e.n, limit))
				continue
			}
			live = append(live, e)
		}
		if len(live) == 0 {
			return
		}
	}
	for {
		if live = r.dropLost(live); len(live) == 0 {
			return
		}
		var t0 time.Time
		if !r.inline {
			r.calls.Add(1)
			t0 = time.Now()
		}
		cctx, prefix := ctx, (*batchprefix.Prefix)(nil)
		if c.spec.Consumer.BatchMode {
			// The entries the core settles early (stream.BatchSettler: the
			// handled ones before a failed one, before its retries, and
			// one that failed for good, before the ones after it) are
			// settled as soon as it says so, by their outcomes as at the
			// end (a dead letter held while Redis refuses it holds the
			// call); the outcome settles the others (below).
			es := live
			cctx, prefix = batchprefix.New(ctx, len(es), func(from, to int, outcome error) error {
				r.settleEach(ctx, es[from:to], outcome)
				if outcome != nil && (ctx.Err() != nil || r.pool.Stopping()) {
					// A Stop began (or cut a held dead letter short): the
					// function does not go on, the rest comes again.
					return errBatchStopping
				}
				return nil
			})
		}
		settled, err := prefix.Rest(r.call(cctx, live)) // nil prefix: 0, err
		if !r.inline {
			// Timed a call at a time, for the hold limit (inline runs time
			// a reply's entries: costMeter).
			d := time.Since(t0) / time.Duration(len(live))
			calls := r.calls.Load()
			if conc := int64(c.conc); r.pool.Blocked() > 0 && calls < conc {
				// Entries wait while workers are free: behind the entries
				// of their routes (partitions, keys) being handled, which
				// start one at a time (dispatch.Pool.Blocked). The limit is what the workers start
				// within claim-min-idle/holdShare, so this call counts as
				// the workers that can start them: with concurrency 8 and
				// one key, 8 times its cost (before, the member held 8
				// times what one worker started in that time).
				d = d * time.Duration(conc) / time.Duration(calls)
			}
			r.calls.Add(-1)
			c.noteCost(d)
		}
		if settled > 0 {
			if live = live[settled:]; len(live) == 0 {
				return
			}
		}
		var bo *stream.BatchOutcome
		if c.spec.Consumer.BatchMode && ctx.Err() == nil && errors.As(err, &bo) {
			// Each entry by its own outcome: the handled ones
			// acknowledged, the failed ones dead-lettered or dropped; those
			// from NakFrom on are held and handled again, as a Nak'ed batch.
			j := bo.NakFrom()
			r.settleEach(ctx, live[:j], err)
			if j == len(live) {
				return
			}
			live, err = live[j:], bo.Err(j)
		}
		switch {
		case err == nil:
			r.ack(live...)
			return
		case errors.Is(err, stream.ErrNak) || ctx.Err() != nil:
			// Nak: held for redelivery-delay and handled again (the rest
			// of its route waits, as on Kafka); Stop gives it back.
			if ctx.Err() == nil && r.hold(c.cs.redeliveryDelay) {
				continue
			}
			for _, e := range live {
				r.giveBack(e)
			}
			return
		default:
			r.terminate(ctx, live, err)
			return
		}
	}
}

// entryEnv is e's envelope, for replaygroup.Drop.
func entryEnv(e *entry) *stream.Envelope { return &e.env }

// skipReplayed acknowledges e, a replayed copy for another consumer group
// (stream.HeaderReplayGroup), without handling it: streambind dlq replay
// sent it back to the destination for that group only.
func (r *run) skipReplayed(e *entry) {
	r.c.log.Debug("redis: replayed copy for another group acknowledged without handling", "stream", e.key, "id", e.id, "replay_group", e.env.Header(stream.HeaderReplayGroup))
	r.ack(e)
}

// settleEach settles entries of a batch each by its own outcome
// (stream.BatchMessageErr(err, i)), none of them Nak'ed: the handled ones
// acknowledged, the failed ones dead-lettered or dropped one after the
// other (terminate).
func (r *run) settleEach(ctx context.Context, es []*entry, err error) {
	if err == nil {
		r.ack(es...)
		return
	}
	for i, e := range es {
		if cause := stream.BatchMessageErr(err, i); cause != nil {
			r.terminate(ctx, []*entry{e}, cause)
		} else {
			r.ack(e)
		}
	}
}

// dropLost lets go of the entries of es that another member reclaimed
// while this consumer held them (the keeper found them gone: a pause or an
// outage longer than claim-min-idle) and returns the rest: their new owner
// handles them, and handling them here too would only make a duplicate.
// Not acknowledged: the acknowledgement is the new owner's.
func (r *run) dropLost(es []*entry) []*entry {
	if !slices.ContainsFunc(es, func(e *entry) bool { return e.lost.Load() }) {
		return es
	}
	kept := make([]*entry, 0, len(es))
	for _, e := range es {
		if e.lost.Load() {
			r.c.log.Debug("redis: not handling an entry another member reclaimed", "stream", e.key, "id", e.id)
			r.untrack(e)
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// call runs the binding's handler on es, turning a panic into an error.
func (r *run) call(ctx context.Context, es []*entry) (err error) {
	c := r.c
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("redis: handler panic: %v", p)
		}
	}()
	if c.spec.Consumer.BatchMode {
		envs := make([]stream.Envelope, len(es))
		for i, e := range es {
			envs[i] = e.env
			envs[i].Received = c.received(e)
		}
		return c.spec.BatchHandler(ctx, envs)
	}
	env := es[0].env
	env.Received = c.received(es[0])
	return c.spec.Handler(ctx, env)
}

// received is how e was received (stream.Received): the consumer's
// destination, the partition of its stream on a partitioned consumer
// (not on an unpartitioned one, which reads the partition streams too:
// stream.Received's rule, as on NATS and in process), its stream key and
// entry ID and the time in it, and whether Redis delivered it before (a
// delivery count above 1: read again from the pending list, or claimed
// from another member).
func (c *consumer) received(e *entry) stream.Received {
	rc := stream.Received{Destination: c.dest, EntryID: e.id, Stream: e.key, Timestamp: entryTime(e.id), Redelivered: e.n > 1}
	if e.part >= 0 && c.spec.Consumer.Partitioned {
		rc.Partition, rc.HasPartition = e.part, true
	}
	return rc
}

// entryTime is the time in a stream entry ID (<ms>-<seq>), zero when it
// has none.
func entryTime(id string) time.Time {
	ms, _, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// terminate settles entries whose handling failed for good: dead-lettered
// with dlq, else dropped; then acknowledged. A dead letter Redis refuses
// for now is held as on the other binders: the entry is not acknowledged
// (the handler is not called again for it; its worker waits), its dead
// letter written again after redelivery-delay (at least 100ms) doubling
// to 5s (dlhold.Retry; a longer redelivery-delay stays), WARN lines paced
// by a dlhold.NewPacer (DEBUG in between), the binding's Health down after
// dlhold.DownAfter attempts until a dead letter is written; Stop gives the
// entry back. Each entry counts in flight until it is acknowledged or
// given back (dlhold.InFlightEach).
func (r *run) terminate(ctx context.Context, es []*entry, cause error) {
	c := r.c
	if !c.dlq {
		if c.group != "" {
			c.log.Debug("redis: message dropped after a failure (no dlq)", "entries", len(es), "error", c.bd.logErr(cause))
		}
		r.ack(es...)
		return
	}
	// Not acknowledged until their dead letters went (or they were
	// given back): each in flight until then, however long Redis refuses
	// them, and no longer once it is acknowledged.
	held := dlhold.InFlightEach(c.spec.Holding, len(es))
	defer held.ReleaseAll()
	back := dlhold.Retry(c.cs.redeliveryDelay)
	pacer := dlhold.NewPacer()
	var heldSince time.Time
	pending := make([]int, len(es)) // indexes of es (and held)
	for i := range pending {
		pending[i] = i
	}
	for attempt := 1; ; attempt++ {
		var left []int
		var lastErr error
		for _, i := range pending {
			settled, err := r.deadLetter(ctx, es[i], cause)
			if err != nil {
				left = append(left, i)
				lastErr = err
				continue
			}
			c.dlDown.Clear()
			if settled {
				r.untrack(es[i]) // acknowledged with its dead letter (or another member's now)
			} else {
				r.ack(es[i])
			}
			held.Release(i)
		}
		if len(left) == 0 {
			if attempt > 1 {
				c.log.Info("redis: dead letters written after they were held; the failed entries are acknowledged", "entries", len(es), "attempts", attempt, "held_for", time.Since(heldSince).Round(time.Millisecond))
			}
			return
		}
		now := time.Now()
		if attempt == 1 {
			heldSince = now
		}
		if attempt == dlhold.DownAfter {
			c.dlDown.Set(fmt.Errorf("the dead-letter stream %s does not take the dead letters (the consumer holds its failed entries, unacknowledged, until it does): %w", c.dlqKey, lastErr))
		}
		retryIn := back.Delay(attempt)
		args := []any{"entries", len(left), "dlq", c.dlqKey, "attempts", attempt, "retry_in", retryIn.Round(time.Millisecond), "held_for", now.Sub(heldSince).Round(time.Millisecond), "error", c.bd.logErr(lastErr)}
		if pacer.Warn(now) {
			c.log.Warn("redis: dead-lettering failed; the failed entry is held, unacknowledged, until the dead-letter stream takes it, its dead letter written again with back-off: the handler is not called again for it", args...)
		} else {
			c.log.Debug("redis: dead-lettering failed; holding the failed entry, retrying", args...)
		}
		if ctx.Err() != nil || !r.hold(retryIn) {
			c.log.Warn("redis: the consumer is stopping; the failed entries held for their dead letters are given back", "entries", len(left), "attempts", attempt, "held_for", time.Since(heldSince).Round(time.Millisecond))
			for _, i := range left {
				r.giveBack(es[i])
				held.Release(i)
			}
			return
		}
		pending = left
	}
}

// Health reports why the binding cannot consume (binding.State), and its
// dead letters down while they cannot be written: a failed entry's dead
// letter failed dlhold.DownAfter attempts (the entry held, unacknowledged),
// until one is written. It implements [stream.BindingHealthChecker].
func (c *consumer) Health(ctx context.Context) error {
	err := c.State.Health(ctx)
	if e := c.dlDown.Health(fmt.Sprintf("redis: consumer %s (destination %q, group %q)", c.spec.Binding, c.dest, c.group)); e != nil {
		err = errors.Join(err, e)
	}
	return err
}

// dlqOverhead is what the binder reserves, of dead-letter-max-size, for
// the field names and the entry's own overhead.
const dlqOverhead = 64

// deadLetterEntry builds the dead letter of e: its payload, key and
// headers plus [stream.DeadLetterHeaders] and the x-original-* headers,
// fitted to limit bytes with [stream.FitDeadLetter].
func (c *consumer) deadLetterEntry(e *entry, cause error, limit int) (stream.Envelope, stream.DeadLetterFit) {
	env := e.env // loaded in a copy, as the handler's
	hdrs := stream.DeadLetterHeaders(env.LoadHeaders(), cause)
	hdrs[stream.HeaderOriginalTopic] = c.dest
	if e.part >= 0 {
		hdrs[stream.HeaderOriginalPartition] = strconv.Itoa(e.part)
	}
	hdrs[HeaderOriginalStream] = e.key
	hdrs[HeaderOriginalID] = e.id
	hdrs[HeaderOriginalGroup] = c.group
	if t := idTime(e.id); !t.IsZero() {
		hdrs[stream.HeaderOriginalTimestamp] = strconv.FormatInt(t.UnixMilli(), 10)
	}
	// The delivery count describes this delivery, not the message: it
	// goes as an x-original-* header, which a replay drops, not as the
	// header the handler saw.
	delete(hdrs, HeaderDeliveries)
	if e.n > 0 {
		hdrs[HeaderOriginalDeliveries] = strconv.FormatInt(e.n, 10)
	}
	if hdrs[stream.HeaderContentType] == "" && c.spec.ContentType != "" {
		hdrs[stream.HeaderContentType] = c.spec.ContentType
	}
	dl := stream.Envelope{Payload: e.env.Payload, Headers: maps.Clone(hdrs), Key: e.env.Key}
	fit := stream.FitDeadLetter(&dl, stream.DeadLetterLimit{
		MaxBytes:       limit - dlqOverhead - len(FieldPayload) - len(FieldKey),
		HeaderOverhead: len(HeaderFieldPrefix),
	})
	return dl, fit
}

// deadLetter writes the dead letter of e to the dead-letter stream and,
// with it, acknowledges e (deadLetterScript: both only while e is still
// pending with this member, so that a retry after a write whose reply was
// lost does not store the dead letter twice). settled says that e needs
// no acknowledgement of its own: the script acknowledged it, an earlier
// attempt had, or another member owns it now. It returns a nil error when
// the dead letter was written (or was already), or when it cannot be
// written at all — it does not fit dead-letter-max-size even without its
// payload, or Redis refuses it for good (an ACL refusal, a key that is
// not a stream) — in which case the message is dropped with an ERROR line
// and counted. It returns an error for transient failures.
func (r *run) deadLetter(ctx context.Context, e *entry, cause error) (settled bool, err error) {
	c := r.c
	limit := c.bd.st.deadLetterMaxSize
	dl, fit := c.deadLetterEntry(e, cause, limit)
	if !fit.Fits {
		return false, r.dropDeadLetter(e, cause, fmt.Errorf("the dead letter does not fit dead-letter-max-size (%d bytes) even without its payload", limit))
	}
	fields := encode(dl, "", "")
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.bd.st.commandTimeout)
	res, err := r.writeDeadLetter(wctx, e, fields)
	cancel()
	if err != nil {
		if !isTransient(err) {
			return false, r.dropDeadLetter(e, cause, c.bd.wrap(err, "redis: dead letter to %s", c.dlqKey))
		}
		return false, err
	}
	switch res {
	case dlTaken:
		// Reclaimed while held (a hold longer than claim-min-idle with
		// the keeper cut off): the new owner handles it and dead-letters
		// it if it fails there too; one written here would be a second.
		c.log.Debug("redis: not dead-lettering an entry another member reclaimed", "stream", e.key, "id", e.id)
		return true, nil
	case dlSettled:
		c.log.Info("redis: the failed entry was acknowledged already (an earlier attempt wrote its dead letter and its reply was lost, or another member settled it); its dead letter is not written again", "stream", e.key, "id", e.id, "dlq", c.dlqKey)
	}
	if len(fit.Cut) > 0 {
		c.stats.Fitted(fit)
		c.log.Warn("redis: dead letter cut to fit dead-letter-max-size", "stream", e.key, "id", e.id, "limit", limit, "cut", fit.String())
	}
	c.log.Debug("redis: dead-lettered", "stream", e.key, "id", e.id, "dlq", c.dlqKey)
	return res != dlNoGroup, nil
}

// writeDeadLetter runs deadLetterScript for e's dead letter (fields) and
// returns its result; a dead letter of more than deadLetterTooMany fields
// and values is checked by the script and then written with e's
// acknowledgement in one MULTI/EXEC.
func (r *run) writeDeadLetter(ctx context.Context, e *entry, fields []any) (int, error) {
	c := r.c
	maxLen := int64(0)
	if c.bd.st.maxLength > 0 {
		maxLen = c.bd.st.maxLength
	}
	keys := []string{c.dlqKey, e.key}
	args := []any{c.group, c.name, e.id, maxLen}
	var res int
	var err error
	if len(fields) <= deadLetterTooMany {
		res, err = deadLetterScript.Run(ctx, c.client, keys, append(args, fields...)...).Int()
		if err != nil || res != dlSettled || !e.regrouped.Load() {
			return res, err
		}
	} else {
		res, err = deadLetterScript.Run(ctx, c.client, keys, args...).Int()
		if err != nil || (res != dlWritten && res != dlNoGroup && (res != dlSettled || !e.regrouped.Load())) {
			return res, err
		}
	}
	if res == dlSettled {
		// The group was created again since e was read (readFailed): e
		// is pending with nobody, whether or not its dead letter was
		// written, so nothing tells; written without the check, as where
		// the group is gone.
		res = dlNoGroup
	}
	a := &goredis.XAddArgs{Stream: c.dlqKey, Values: fields}
	if maxLen > 0 {
		a.MaxLen, a.Approx = maxLen, true
	}
	if res == dlNoGroup {
		return res, c.client.XAdd(ctx, a).Err()
	}
	cmds, err := c.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.XAdd(ctx, a)
		p.XAck(ctx, e.key, c.group, e.id)
		return nil
	})
	return res, queuedError(cmds, err)
}

// queuedError is the error of a MULTI/EXEC: when EXEC was refused because
// Redis refused a command as it was queued (OOM under maxmemory, an ACL
// refusal), it is that command's error, not EXECABORT, so that isTransient
// judges the cause (an OOM dead letter is held and retried, not dropped).
func queuedError(cmds []goredis.Cmder, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "EXECABORT") {
		return err
	}
	for _, cmd := range cmds {
		if cerr := cmd.Err(); cerr != nil && !strings.HasPrefix(cerr.Error(), "EXECABORT") {
			return cerr
		}
	}
	return err
}

// dropDeadLetter logs (ERROR) and counts a failed message that cannot be
// dead-lettered at all; it returns nil so that the entry is acknowledged.
func (r *run) dropDeadLetter(e *entry, cause, why error) error {
	c := r.c
	c.log.Error("redis: failed message dropped: its dead letter cannot be written", "stream", e.key, "id", e.id, "dlq", c.dlqKey, "reason", c.bd.logErr(why), "error", c.bd.logErr(cause))
	c.stats.Dropped() // after the log line: what the count shows is logged
	return nil
}

// errBatchStopping is what a batch's settler (stream.BatchSettler) returns
// when the consumer began to stop while it settled a failed message: the
// core ends the batch, the rest left for redelivery.
var errBatchStopping = fmt.Errorf("redis: the consumer is stopping: %w", stream.ErrBatchStop)
