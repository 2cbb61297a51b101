package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// Non-blocking retries (consumer.retry-delays, docs/retries.md) use one
// retry topic per delay, as Spring Kafka's @RetryableTopic does with
// SUFFIX_WITH_DELAY_VALUE: <topic>.<group>-retry-<delay in ms>. Spring
// names them <topic>-retry-<ms> because a @KafkaListener is one group;
// here several groups may consume a topic, each with its own retries, so
// the group is part of the name (as in SCSt's error.<topic>.<group>).
//
// The consumer subscribes to its retry topics along with its topics, in
// the same group. A failed message is written to the retry topic of its
// delay (same key, same partition number, the retry headers) and then
// committed. The worker of a retry topic's partition holds each message
// until its x-streambind-retry-due time before handing it to the handler:
// it pauses that partition only (each partition has its own reader), so
// the topic's own partitions keep flowing. A retry topic's messages all
// have the same delay, so they are due in the order they are stored.

var _ stream.DelayedRetrier = (*Binder)(nil)

// DelayedRetries implements [stream.DelayedRetrier]: a named group is
// needed (the retry topics belong to it).
func (bd *Binder) DelayedRetries(spec stream.ConsumerSpec) error {
	if spec.Group == "" {
		return errors.New("kafka: non-blocking retries need a consumer group (group is empty)")
	}
	return nil
}

// RetryTopicName is the retry topic of topic for group and delay d.
func RetryTopicName(topic, group string, d time.Duration) string {
	return topic + "." + group + "-retry-" + strconv.FormatInt(d.Milliseconds(), 10)
}

// checkRetryTopics checks the retry topic names of a consumer binding with
// retry-delays, at key (its destination) like the dead-letter topic's: the
// group and the destination are part of them.
func checkRetryTopics(key string, spec stream.ConsumerSpec) error {
	if spec.Group == "" {
		return nil
	}
	for _, d := range spec.Consumer.RetryDelays {
		if err := checkTopic(key, "the retry topic of group "+spec.Group+" for "+d.String(), RetryTopicName(spec.Destination, spec.Group, d)); err != nil {
			return err
		}
	}
	return nil
}

// provisionRetryTopics provisions the retry topics of topics (with the
// partitions of each topic's DLQ, parts) and returns topics followed by
// them, the consumer's whole subscription, with the retry topics of
// delays no longer configured that still hold records for the group
// (leftover: retry topic → its topic; see leftoverRetryTopics).
func (bd *Binder) provisionRetryTopics(ctx context.Context, spec stream.ConsumerSpec, cs consumerSettings, topics []string, parts map[string]int) (all []string, leftover map[string]string, err error) {
	if spec.Group == "" {
		return topics, nil, nil
	}
	all = append([]string(nil), topics...)
	leftover = bd.leftoverRetryTopics(ctx, spec, topics)
	for rt := range leftover {
		all = append(all, rt)
	}
	if len(spec.Consumer.RetryDelays) == 0 {
		return all, leftover, nil
	}
	seen := map[string]bool{}
	for _, t := range topics {
		for _, d := range spec.Consumer.RetryDelays {
			rt := RetryTopicName(t, spec.Group, d)
			if seen[rt] {
				continue
			}
			seen[rt] = true
			// Not the binding's topic.properties: those are the source
			// topic's (a cleanup.policy compact there would drop the
			// waiting copies here).
			if _, err := bd.provision(ctx, rt, parts[t], cs.replicationFactor, nil, false); err != nil {
				return nil, nil, fmt.Errorf("retry topic: %w", err)
			}
			all = append(all, rt)
		}
	}
	return all, leftover, nil
}

// leftoverRetryTopics finds the retry topics of the group's topics for
// delays that retry-delays no longer lists (changed or removed since
// messages were parked) that still hold records the group has not
// consumed, and returns them (retry topic → its topic): the consumer
// reads them too, so that what was parked is not stranded — each record
// is held until its due time (at most the delay in the topic's name) and
// handled as a retry delivery, going on with the ladder configured now (or
// with max-attempts and the DLQ without retry-delays). An empty one is
// left alone (it can be deleted). Found at bind only, from a listing of
// the cluster's topics up to retryListingMaxAge old: what an instance
// still running the old delays parks after this one bound (a rolling
// deployment), or on a retry topic created less than that before the
// bind, waits for the next start of a consumer of the group. Best
// effort: a cluster that cannot be asked is logged and skipped, not a
// bind error.
func (bd *Binder) leftoverRetryTopics(ctx context.Context, spec stream.ConsumerSpec, topics []string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, bd.st.dialTimeout)
	defer cancel()
	listed, err := bd.listRetryTopics(ctx)
	if err != nil {
		bd.log.Debug("kafka: listing topics for retry topics of delays no longer configured", "group", spec.Group, "error", bd.logErr(err))
		return nil
	}
	configured := map[string]bool{}
	for _, t := range topics {
		for _, d := range spec.Consumer.RetryDelays {
			configured[RetryTopicName(t, spec.Group, d)] = true
		}
	}
	var found map[string]string
	parts := map[string][]int{}
	for name, ids := range listed {
		if configured[name] {
			continue
		}
		for _, t := range topics {
			sfx, ok := strings.CutPrefix(name, t+"."+spec.Group+"-retry-")
			if !ok || sfx == "" || strings.Trim(sfx, "0123456789") != "" {
				continue
			}
			if found == nil {
				found = map[string]string{}
			}
			found[name] = t
			parts[name] = append(parts[name], ids...)
		}
	}
	if len(found) == 0 {
		return nil
	}
	committed, err := bd.admin.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: spec.Group, Topics: parts})
	if err == nil {
		err = committed.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) { // no commits (kfake; Kafka answers -1 offsets)
		committed, err = &kafkago.OffsetFetchResponse{}, nil
	}
	if err != nil {
		bd.log.Debug("kafka: reading the group's offsets of retry topics of delays no longer configured", "group", spec.Group, "error", bd.logErr(err))
		return nil
	}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for rt, ps := range parts {
		for _, p := range ps {
			req.Topics[rt] = append(req.Topics[rt], kafkago.FirstOffsetOf(p), kafkago.LastOffsetOf(p))
		}
	}
	offs, err := bd.admin.ListOffsets(ctx, req)
	if err != nil {
		bd.log.Debug("kafka: reading the offsets of retry topics of delays no longer configured", "group", spec.Group, "error", bd.logErr(err))
		return nil
	}
	for rt, main := range found {
		at := map[int]int64{}
		for _, op := range committed.Topics[rt] {
			at[op.Partition] = op.CommittedOffset
		}
		var unread int64
		for _, po := range offs.Topics[rt] {
			from := po.FirstOffset // no commit (-1), or one below the log
			if c, ok := at[po.Partition]; ok && c > from {
				from = c
			}
			unread += max(po.LastOffset-from, 0)
		}
		if unread == 0 {
			delete(found, rt)
			bd.log.Debug("kafka: retry topic of a delay no longer in retry-delays is empty for the group; it can be deleted once no running consumer of the group reads it", "retry_topic", rt, "group", spec.Group)
			continue
		}
		bd.log.Warn("kafka: a retry topic of a delay no longer in retry-delays holds parked messages; reading them (once it is drained, restart the group's consumers, then delete it: while a topic the group reads is missing, a rebalance assigns nothing)",
			"retry_topic", rt, "destination", main, "group", spec.Group, "records", unread)
	}
	return found
}

// retryListingMaxAge is how long a listing of the cluster's retry topics
// (listRetryTopics) serves later binds. An application binds its consumers
// one after another at start-up, and each used to list every topic of the
// cluster (its whole metadata, on a connection of its own), so start-up
// grew with the bindings times the cluster's size: 100 bindings beside
// 20,000 partitions of other topics took 7.5–8.4 s and 575–668 MB. The
// retry topics looked for were made by earlier deployments (see
// leftoverRetryTopics), so a listing a few seconds old finds them too; one
// another process creates within that time is found at the next start.
const retryListingMaxAge = 5 * time.Second

// retryListing is a listing of the cluster's topics whose names can be
// retry topics (they hold "-retry-"), each with its partition ids.
type retryListing struct {
	at     time.Time
	topics map[string][]int
}

// listRetryTopics returns the cluster's topics that can be retry topics
// (name → partition ids), asked of the cluster (not the transport's cache:
// topics of other processes) at most once per retryListingMaxAge; binds at
// once wait for one answer. Only those names are kept: a cluster's full
// listing can be large.
func (bd *Binder) listRetryTopics(ctx context.Context) (map[string][]int, error) {
	select {
	case bd.retryListLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-bd.retryListLock }()
	if l := bd.retryListing; l.topics != nil && time.Since(l.at) < retryListingMaxAge {
		return l.topics, nil
	}
	md, err := bd.askMetadata(ctx, nil)
	if err != nil {
		return nil, err
	}
	topics := map[string][]int{}
	for _, mt := range md.Topics {
		if mt.Error != nil || !strings.Contains(mt.Name, "-retry-") {
			continue
		}
		ids := make([]int, 0, len(mt.Partitions))
		for _, p := range mt.Partitions {
			ids = append(ids, p.ID)
		}
		topics[mt.Name] = ids
	}
	bd.retryListing = retryListing{at: time.Now(), topics: topics}
	return topics, nil
}

// retryMain returns the topic whose retry topic topic is, if it is one of
// the consumer's.
func (c *consumer) retryMain(topic string) (string, bool) {
	if main, ok := c.leftover[topic]; ok {
		return main, true
	}
	if len(c.spec.Consumer.RetryDelays) == 0 {
		return "", false
	}
	sfx := "." + c.spec.Group + "-retry-"
	i := strings.LastIndex(topic, sfx)
	if i <= 0 {
		return "", false
	}
	ms, err := strconv.ParseInt(topic[i+len(sfx):], 10, 64)
	if err != nil {
		return "", false
	}
	main := topic[:i]
	for _, d := range c.spec.Consumer.RetryDelays {
		if d.Milliseconds() == ms && RetryTopicName(main, c.spec.Group, d) == topic {
			return main, true
		}
	}
	return "", false
}

// isRetryTopic reports whether topic is one of the consumer's retry
// topics (configured or leftover).
func (c *consumer) isRetryTopic(topic string) bool {
	_, ok := c.retryMain(topic)
	return ok
}

// holdUntilDue marks env, a record of one of the consumer's retry topics,
// as a retry delivery (its retry headers count its attempts; the core
// ignores them on any other delivery) and waits until its
// x-streambind-retry-due time, but no longer than the retry topic's delay:
// the due time is the parking instance's wall clock, and one running ahead
// must not hold the retry partition for the skew. False when the
// generation winds down first (the message is not committed and is read
// again).
func (w *partWorker) holdUntilDue(env stream.Envelope) bool {
	if _, ok := w.r.c.retryMain(w.topic); !ok {
		return true
	}
	if len(w.r.c.spec.Consumer.RetryDelays) == 0 {
		// A leftover retry topic drained after retry-delays was removed:
		// the message starts again with max-attempts, and its dead letter
		// must not carry the old ladder's counts. (Held until due all the
		// same: the headers were read above.)
		due := env.Headers[stream.HeaderRetryDue]
		for _, k := range []string{stream.HeaderRetryAttempts, stream.HeaderRetryFirstFailure, stream.HeaderRetryDue} {
			delete(env.Headers, k)
		}
		return w.holdUntil(due)
	}
	stream.MarkRetryDelivery(env.Headers)
	return w.holdUntil(env.Headers[stream.HeaderRetryDue])
}

// holdUntil waits until due (x-streambind-retry-due, unix milliseconds),
// at most the retry topic's delay; see holdUntilDue.
func (w *partWorker) holdUntil(dueMillis string) bool {
	due, err := strconv.ParseInt(dueMillis, 10, 64)
	if err != nil {
		return true // not ours to hold: handle it now
	}
	if d := retryHold(w.topic, time.UnixMilli(due), time.Now()); d > 0 {
		return w.wait(d)
	}
	return true
}

// retryHold is how long a record of retry topic rt that is due at due is
// held at now: until due, at most the topic's delay (its name's suffix).
func retryHold(rt string, due, now time.Time) time.Duration {
	d := due.Sub(now)
	if ms, err := strconv.ParseInt(rt[strings.LastIndexByte(rt, '-')+1:], 10, 64); err == nil && d > time.Duration(ms)*time.Millisecond {
		d = time.Duration(ms) * time.Millisecond
	}
	return d
}

type parkResult int

const (
	parked      parkResult = iota
	parkStopped            // the generation wound down: not committed, handled again
	parkNever              // refused for good: dead-letter or drop it now
)

// retryLater carries out a [stream.DelayedRetry]: it writes m, with the
// retry headers, to the retry topic of the delay, retrying transient
// failures with back-off (a deleted retry topic is created again when
// auto-create-topics is on). A copy the retry topic refuses for its size
// is written once more with its exception texts shortened to the topic's
// max.message.bytes (fitRetryCopy). A write refused for good (the
// record's size, authorisation, a missing topic that is not created) gives
// up: the caller dead-letters or drops the message now rather than hold
// its partition.
func (w *partWorker) retryLater(m *kafkago.Message, env stream.Envelope, dr *stream.DelayedRetry) parkResult {
	c := w.r.c
	main, ok := c.retryMain(w.topic)
	if !ok {
		main = w.topic
	}
	rt := RetryTopicName(main, c.spec.Group, dr.Delay)
	retryCopy := stream.Envelope{Payload: env.Payload, Key: env.Key, Headers: dr.Headers, NativeHeaders: env.NativeHeaders}
	keepOriginalIdentity(retryCopy.Headers, env.Received)
	var kept map[string]string // a Java producer's header types, kept
	retryCopy.Headers, kept = keepJavaTypes(m.Headers, retryCopy.Headers)
	rec := deadLetterRecord(rt, m.Partition, &retryCopy, kept)
	fitted := false // after a size refusal
	delay := c.cs.redeliveryDelay
	for {
		// The settling context (run.sctx), not the handlers'.
		ctx, cancel := context.WithTimeout(w.sctx, 30*time.Second)
		err := c.dlqWriter().WriteMessages(ctx, rec)
		cancel()
		switch {
		case err == nil:
			return parked
		case w.sctx.Err() != nil:
			return parkStopped
		case unknownTopic(err) && c.bd.st.autoCreateTopics:
			pctx, pcancel := context.WithTimeout(w.sctx, c.bd.st.dialTimeout)
			_, perr := c.bd.provision(pctx, rt, max(c.cs.dlqPartitions, 1), c.cs.replicationFactor, nil, false)
			pcancel()
			if perr != nil {
				err = fmt.Errorf("%w (creating the topic again: %w)", err, perr)
			}
		case sizeError(err) && !fitted:
			// Only now is the topic's limit read (not for every parked
			// message: where DescribeConfigs is not allowed, the failure
			// is cached for a minute only (maxMessageBytes), and each
			// minute would cost admin round trips and a WARN).
			fitted = true
			c.bd.forgetMaxMessageBytes(rt) // a limit read before may be stale
			if w.fitRetryCopy(rt, &retryCopy, kept) {
				w.log.Debug("kafka: the retry topic refused the failed message for its size; its exception texts shortened", "retry_topic", rt, "error", c.bd.logErr(err))
				rec = deadLetterRecord(rt, m.Partition, &retryCopy, kept)
				continue
			}
			fallthrough
		case permanent(err) || sizeError(err) || refused(err) || unknownTopic(err):
			w.log.Error("kafka: the retry topic refuses the failed message; it is dead-lettered (or dropped) now instead of retried", "retry_topic", rt, "error", c.bd.logErr(err), "cause", c.bd.logErr(dr.Err))
			return parkNever
		}
		w.log.Warn("kafka: writing a failed message to its retry topic failed; retrying", "retry_topic", rt, "retry_in", delay, "error", c.bd.logErr(err))
		if !sleepUntil(delay, w.sctx.Done()) {
			return parkStopped
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// keepOriginalIdentity gives h, a retry copy's headers, the delivery
// identity of the record it copies (received as rc) as
// x-streambind-replayed-id when the record has no id and is no copy
// itself (a Java producer's record): the default idempotency key of an
// id-less record is that identity (stream.DeliveryIdentity), and the
// copy, at another position on its retry topic, must keep it, as a copy
// of a record with an id keeps the id. Otherwise the copy's success marked
// another key, and a redelivery of the original (a restart or rebalance
// before its offset's commit) ran the handler again. A copy of a copy
// has the header already; the core's output does not inherit it.
func keepOriginalIdentity(h stream.Headers, rc stream.Received) {
	if h == nil || strings.TrimSpace(h[stream.HeaderReplayedID]) != "" || strings.TrimSpace(h[stream.HeaderID]) != "" {
		return
	}
	if id, ok := stream.DeliveryIdentity(Type, rc); ok {
		h[stream.HeaderReplayedID] = id
	}
}

// fitRetryCopy shortens the exception texts of the retry copy rc
// (x-exception-stacktrace, then x-exception-message, to no less than 256
// bytes, as a dead letter's: see stream.FitDeadLetter) while it is over
// the retry topic's max.message.bytes, and reports whether it shortened
// any. retryLater calls it once the topic refused the copy for its size,
// not for every copy: the limit is read with DescribeConfigs, which an
// application's principal may not be allowed (then the failure is cached
// for a minute only, and each minute would cost admin round trips and a
// WARN).
// Nothing else of the copy is cut, since the retry delivery must be the
// message as it was (its headers, id and payload). Before, a message
// close to the limit whose failure had a long text (a panic's stack
// trace) was refused by the retry topic for its size and dead-lettered at
// once: it was never retried. A copy that does not fit even so is sent as
// it is, and the broker decides (the limit may be higher than the one
// read).
func (w *partWorker) fitRetryCopy(rt string, rc *stream.Envelope, kept map[string]string) bool {
	ctx, cancel := context.WithTimeout(w.sctx, w.r.c.bd.st.dialTimeout)
	limit := w.r.c.bd.maxMessageBytes(ctx, rt)
	cancel()
	trial := stream.Envelope{Payload: rc.Payload, Key: rc.Key, Headers: make(stream.Headers, len(rc.Headers))}
	for k, v := range rc.Headers {
		trial.Headers[k] = v
	}
	// Room is kept for the types header the record gets (deadLetterRecord).
	if fit := fitDeadLetter(&trial, limit-jsonTypesSize(&trial, kept), false); len(fit.Cut) == 0 {
		return false
	}
	hs := make(stream.Headers, len(rc.Headers))
	for k, v := range rc.Headers {
		hs[k] = v
	}
	shortened := false
	for _, k := range []string{stream.HeaderExceptionStacktrace, stream.HeaderExceptionMessage} {
		if v, ok := trial.Headers[k]; ok && v != hs[k] {
			hs[k] = v
			shortened = true
		}
	}
	rc.Headers = hs
	return shortened
}
