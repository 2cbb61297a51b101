package kafka

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/internal/dlhold"
	"github.com/streambind/streambind/stream"
)

// The wire cost of a dead letter beyond its key, value, header names and
// header values, as a broker measures it against max.message.bytes (which
// bounds a whole record batch; a dead letter travels in a batch of its
// own, uncompressed). The record and header figures are upper bounds of
// their varints, so a dead letter fitted with them always fits.
const (
	// recordBatchOverhead is the v2 record batch header.
	recordBatchOverhead = 61
	// recordOverhead bounds a record's own fields: length, attributes,
	// timestamp and offset deltas, key and value lengths, header count.
	recordOverhead = 40
	// headerOverhead bounds a header's two length varints.
	headerOverhead = 10
	// defaultMaxMessageBytes is Kafka's default message.max.bytes, assumed
	// when neither the topic's nor the broker's setting can be read.
	defaultMaxMessageBytes = 1048588
)

// deadLetterLimit is what a dead letter may take of a topic whose
// max.message.bytes is maxMessageBytes.
func deadLetterLimit(maxMessageBytes int) stream.DeadLetterLimit {
	return stream.DeadLetterLimit{
		MaxBytes:       max(maxMessageBytes-recordBatchOverhead-recordOverhead, 1),
		HeaderOverhead: headerOverhead,
	}
}

// unreadableFor is how long a topic whose max.message.bytes could not be
// read (DescribeConfigs refused by an ACL, say) is taken to have Kafka's
// default before it is read again.
const unreadableFor = time.Minute

// maxMessageBytes returns the largest record batch topic accepts: its
// max.message.bytes, else the broker's message.max.bytes, cached per topic
// (see forgetMaxMessageBytes); Kafka's default when neither can be read,
// for unreadableFor, after which the next dead letter asks again: a storm
// of dead letters does not cost admin requests (and a WARN) each.
func (bd *Binder) maxMessageBytes(ctx context.Context, topic string) int {
	bd.limMu.Lock()
	n, ok := bd.limits[topic]
	until, failed := bd.unreadable[topic]
	bd.limMu.Unlock()
	if ok {
		return n
	}
	if failed && time.Now().Before(until) {
		return defaultMaxMessageBytes
	}
	n, err := bd.describeMaxMessageBytes(ctx, topic)
	if err != nil {
		if ctx.Err() == nil { // not our own deadline or a wind-down
			bd.limMu.Lock()
			if bd.unreadable == nil {
				bd.unreadable = map[string]time.Time{}
			}
			bd.unreadable[topic] = time.Now().Add(unreadableFor)
			bd.limMu.Unlock()
		}
		bd.log.Warn("kafka: cannot read the dead-letter topic's max.message.bytes; assuming Kafka's default", "dlq", topic, "default", defaultMaxMessageBytes, "read_again_in", unreadableFor, "error", bd.logErr(err))
		return defaultMaxMessageBytes
	}
	bd.limMu.Lock()
	if bd.limits == nil {
		bd.limits = map[string]int{}
	}
	bd.limits[topic] = n
	delete(bd.unreadable, topic)
	bd.limMu.Unlock()
	return n
}

// forgetMaxMessageBytes drops the cached limit of topic (the broker
// refused a dead letter fitted to it: the setting may have changed).
func (bd *Binder) forgetMaxMessageBytes(topic string) {
	bd.limMu.Lock()
	delete(bd.limits, topic)
	bd.limMu.Unlock()
}

// describeMaxMessageBytes reads topic's max.message.bytes, else the
// controller's message.max.bytes, with DescribeConfigs.
func (bd *Binder) describeMaxMessageBytes(ctx context.Context, topic string) (int, error) {
	read := func(typ kafkago.ResourceType, name, key string) (int, error) {
		res, err := bd.admin.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
			ResourceType: typ, ResourceName: name, ConfigNames: []string{key},
		}}})
		if err != nil {
			return 0, err
		}
		for _, r := range res.Resources {
			if r.Error != nil {
				return 0, r.Error
			}
			for _, e := range r.ConfigEntries {
				if e.ConfigName == key {
					n, err := strconv.Atoi(strings.TrimSpace(e.ConfigValue))
					if err != nil || n <= 0 {
						return 0, fmt.Errorf("%s %q is not a positive number", key, e.ConfigValue)
					}
					return n, nil
				}
			}
		}
		return 0, fmt.Errorf("%s not in the answer", key)
	}
	n, terr := read(kafkago.ResourceTypeTopic, topic, "max.message.bytes")
	if terr == nil {
		return n, nil
	}
	md, err := bd.admin.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{}})
	if err != nil {
		return 0, fmt.Errorf("topic %s: %w; brokers: %w", topic, terr, err)
	}
	n, err = read(kafkago.ResourceTypeBroker, strconv.Itoa(md.Controller.ID), "message.max.bytes")
	if err != nil {
		return 0, fmt.Errorf("topic %s: %w; broker %d: %w", topic, terr, md.Controller.ID, err)
	}
	return n, nil
}

// DeadLetterStats counts the dead letters that were cut to fit the
// dead-letter topic and the failed messages that were dropped because not
// even a headers-only dead letter could be written. It implements
// [stream.DeadLetterReporter].
func (c *consumer) DeadLetterStats() stream.DeadLetterStats {
	return c.dlCounts.Stats()
}

// Health reports the consumer binding down while its dead letters cannot
// be written: a failed message's dead letter failed dlhold.DownAfter
// attempts (its partition waits, the message not committed), until one
// is written. It implements [stream.BindingHealthChecker].
func (c *consumer) Health(context.Context) error {
	return c.dlDown.Health(fmt.Sprintf("kafka: consumer %s (destination %q, group %q)", c.spec.Binding, c.spec.Destination, c.spec.Group))
}

// deadLetter sends each of ms to the dead-letter topic (see deadLetterOne);
// false when the generation wound down first (then nothing is committed
// and the messages are redelivered). A batch's failed messages are sent
// one after the other: none is committed before its dead letter went, so
// each counts in flight (dlhold.InFlightEach) from now until then.
func (w *partWorker) deadLetter(ms []kafkago.Message, envs []stream.Envelope, cause error) bool {
	// A batch's message by its own outcome (stream.BatchOutcome): the
	// handled ones are only committed.
	causes := make([]error, len(ms))
	failed := 0
	for i := range ms {
		if causes[i] = stream.BatchMessageErr(cause, i); causes[i] != nil {
			failed++
		}
	}
	held := dlhold.InFlightEach(w.r.c.spec.Holding, failed)
	defer held.ReleaseAll()
	j := 0
	for i := range ms {
		if causes[i] == nil {
			continue
		}
		ok := w.deadLetterOne(&ms[i], envs[i], causes[i])
		held.Release(j)
		j++
		if !ok {
			return false
		}
	}
	return true
}

// deadLetterOne fits the dead letter of m to the dead-letter topic's
// max.message.bytes (stream.FitDeadLetter: exception texts shortened,
// original headers dropped, then the payload) and sends it. Transient
// failures are retried until the generation winds down (false: not
// committed, redelivered), as the other binders hold a dead letter: after
// redelivery-delay (at least 100ms) doubling to 5s (dlhold.Retry; a
// longer redelivery-delay stays), WARN lines paced by a dlhold.NewPacer
// (DEBUG in between), and the binding's Health down after
// dlhold.DownAfter attempts until a dead letter is written. A dead letter that does not fit
// even without its payload, or that the broker refuses for good (a size
// refusal of a headers-only dead letter, authorisation, an invalid or
// missing topic with auto-create-topics off), is dropped with an ERROR
// line and counted (true: committed), so that one message never stops
// its partition.
func (w *partWorker) deadLetterOne(m *kafkago.Message, env stream.Envelope, cause error) bool {
	c := w.r.c
	bd := c.bd
	dlq := c.dlqTopic(w.topic)
	log := w.log.With("offset", m.Offset, "dlq", dlq)
	wr := c.dlqWriter()
	back := dlhold.Retry(c.cs.redeliveryDelay)
	pacer := dlhold.NewPacer()
	var heldSince time.Time
	failures := 0
	headersOnly := false // after a size refusal: the payload goes
	for {
		// Bounded by the settling context (run.sctx), not intake's nor
		// the handlers': a message that failed while the consumer winds
		// down (Stop, a rebalance), also once the handlers' context was
		// cancelled ahead of Stop's deadline, is still dead-lettered and
		// committed, within the wind-down's time.
		ctx, cancel := context.WithTimeout(w.sctx, 30*time.Second)
		limit := bd.maxMessageBytes(ctx, dlq)
		dl, kept := deadLetterEnvelope(m, env, cause)
		size := envelopeSize(&dl)
		// The values of a repeated original header before its last are
		// written too (appendHeader), and the types header: room is kept
		// for them.
		var fit stream.DeadLetterFit
		fit, kept = fitDeadLetterKept(&dl, limit-repeatedSize(&dl)-jsonTypesSize(&dl, kept), headersOnly, kept)
		if !fit.Fits {
			cancel()
			return w.dropDeadLetter(log, cause, fmt.Sprintf("it does not fit the dead-letter topic's max.message.bytes (%d) even without its payload", limit), nil)
		}
		err := wr.WriteMessages(ctx, deadLetterRecord(dlq, c.dlqPartition(m), &dl, kept))
		cancel()
		if err == nil {
			c.dlDown.Clear()
			if len(fit.Cut) > 0 {
				c.dlCounts.Fitted(fit)
				log.Warn("kafka: dead letter cut to fit the dead-letter topic's max.message.bytes",
					"cut", strings.Join(fit.Cut, ","), "headers_only", fit.HeadersOnly, "bytes", size, "max_message_bytes", limit)
			} else {
				log.Debug("kafka: dead-lettered")
			}
			if failures > 0 {
				log.Info("kafka: dead letter written after it was held; the message is committed past", "attempts", failures+1, "held_for", time.Since(heldSince).Round(time.Millisecond))
			}
			return true
		}
		switch {
		case w.sctx.Err() != nil:
			return false
		case sizeError(err) && !headersOnly:
			// The limit was stale or the broker counts otherwise: read it
			// again and send the dead letter without its payload.
			log.Warn("kafka: the broker refused the dead letter for its size; sending it again without its payload", "bytes", size, "max_message_bytes", limit, "error", bd.logErr(err))
			bd.forgetMaxMessageBytes(dlq)
			headersOnly = true
			continue
		case unknownTopic(err) && bd.st.autoCreateTopics:
			pctx, pcancel := context.WithTimeout(w.sctx, bd.st.dialTimeout)
			_, perr := bd.provision(pctx, dlq, max(c.cs.dlqPartitions, 1), c.cs.replicationFactor, c.cs.dlqProducer.topicConfigs, false)
			pcancel()
			if perr == nil {
				log.Info("kafka: the dead-letter topic was gone; created it again")
			} else {
				err = fmt.Errorf("%w (creating the topic again: %w)", err, perr)
			}
		case unknownTopic(err):
			if exists, cerr := bd.topicExists(w.sctx, dlq); cerr == nil && !exists {
				return w.dropDeadLetter(log, cause, "the dead-letter topic does not exist and auto-create-topics is false: create it or enable "+bd.st.autoCreateKey, err)
			}
		case permanent(err) || refused(err):
			return w.dropDeadLetter(log, cause, "the broker refuses it", err)
		}
		now := time.Now()
		if failures++; failures == 1 {
			heldSince = now
		}
		if failures == dlhold.DownAfter {
			c.dlDown.Set(fmt.Errorf("the dead-letter topic %s does not take the dead letters (the consumer holds its failed messages, not committed, until it does): %w", dlq, err))
		}
		retryIn := back.Delay(failures)
		args := []any{"attempts", failures, "retry_in", retryIn.Round(time.Millisecond), "held_for", now.Sub(heldSince).Round(time.Millisecond), "error", bd.logErr(err)}
		if pacer.Warn(now) {
			log.Warn("kafka: dead-lettering failed; the failed message is held, not committed, until the dead-letter topic takes it, its send retried with back-off: the handler is not called again for it, and its partition waits", args...)
		} else {
			log.Debug("kafka: dead-lettering failed; holding the failed message, retrying", args...)
		}
		if !sleepUntil(retryIn, w.sctx.Done()) {
			return false
		}
	}
}

// dropDeadLetter logs and counts a failed message that cannot be
// dead-lettered; it is committed.
func (w *partWorker) dropDeadLetter(log *slog.Logger, cause error, reason string, err error) bool {
	c := w.r.c
	args := []any{"reason", reason, "cause", c.bd.logErr(cause)}
	if err != nil {
		args = append(args, "error", c.bd.logErr(err))
	}
	log.Error("kafka: failed message dropped: it cannot be dead-lettered; committing past it", args...)
	c.dlCounts.Dropped() // after the log line: what the count shows is logged
	return true
}

// fitDeadLetter is stream.FitDeadLetter to a topic's max.message.bytes;
// with headersOnly the payload and key go first.
func fitDeadLetter(dl *stream.Envelope, maxMessageBytes int, headersOnly bool) stream.DeadLetterFit {
	lim := deadLetterLimit(maxMessageBytes)
	lim.DropPayload = headersOnly
	return stream.FitDeadLetter(dl, lim)
}

// fitDeadLetterKept is fitDeadLetter for a dead letter whose headers in
// kept are the original record's with their Java classes (keepJavaTypes).
// A kept header whose value the fitting cut (an id or contentType of
// kilobytes, "…[cut]") is no longer the JSON of its class: it returns kept
// without its class ("", byte[]: left out of the types header), so that a
// Java consumer of the DLQ reads the cut bytes, not broken JSON as a
// MimeType or UUID; kept is copied when one changes. A dropped header is
// not written at all.
func fitDeadLetterKept(dl *stream.Envelope, maxMessageBytes int, headersOnly bool, kept map[string]string) (stream.DeadLetterFit, map[string]string) {
	var before map[string]string // the kept headers' values before fitting
	for k, c := range kept {
		if c == "" {
			continue
		}
		if v, ok := dl.Headers[k]; ok {
			if before == nil {
				before = make(map[string]string, len(kept))
			}
			before[k] = v
		}
	}
	fit := fitDeadLetter(dl, maxMessageBytes, headersOnly)
	if len(fit.Cut) == 0 {
		return fit, kept
	}
	copied := false
	for k, v := range before {
		if now, ok := dl.Headers[k]; ok && now != v {
			if !copied {
				kept, copied = maps.Clone(kept), true
			}
			kept[k] = ""
		}
	}
	return fit, kept
}

// envelopeSize is the size of e's key, payload and headers (every value
// of a repeated one).
func envelopeSize(e *stream.Envelope) int {
	n := len(e.Key) + len(e.Payload) + repeatedSize(e)
	for k, v := range e.Headers {
		n += len(k) + len(v)
	}
	return n
}

// deadLetterEnvelope is the dead letter of m, whose envelope is env: same
// key and value, the original headers plus those of CONVENTIONS
// (x-exception-*, and x-original-topic, -partition as a 4-byte and -offset
// and -timestamp as 8-byte big-endian integers); and the Java classes of
// the original headers it keeps as m had them (keepJavaTypes).
func deadLetterEnvelope(m *kafkago.Message, env stream.Envelope, cause error) (stream.Envelope, map[string]string) {
	h := stream.DeadLetterHeaders(env.Headers, cause)
	h[stream.HeaderOriginalTopic] = m.Topic
	h[stream.HeaderOriginalPartition] = string(binary.BigEndian.AppendUint32(nil, uint32(m.Partition)))
	h[stream.HeaderOriginalOffset] = string(binary.BigEndian.AppendUint64(nil, uint64(m.Offset)))
	// A record without a timestamp (-1; kafka-go gives a zero time for it)
	// has Kafka's NO_TIMESTAMP and NoTimestampType, as SCSt writes them:
	// the zero time's milliseconds were a date in year 1.
	ts, tsType := m.Time.UnixMilli(), "CreateTime"
	if m.Time.IsZero() {
		ts, tsType = -1, "NoTimestampType"
	}
	h[stream.HeaderOriginalTimestamp] = string(binary.BigEndian.AppendUint64(nil, uint64(ts)))
	h[headerOriginalTimestampType] = tsType
	h, kept := keepJavaTypes(m.Headers, h)
	return stream.Envelope{Payload: m.Value, Key: m.Key, Headers: h, NativeHeaders: env.NativeHeaders}, kept
}

// dlqPartition is the dead-letter topic's partition for a dead letter of
// m, as SCSt's Kafka binder picks it without a DlqPartitionFunction bean
// (DlqPartitionFunction.determineFallbackFunction): 0 when dlq-partitions
// is 1, else m's own partition (the balancer takes it modulo the
// dead-letter topic's partition count where that topic has fewer).
func (c *consumer) dlqPartition(m *kafkago.Message) int {
	if c.cs.dlqPartitions == 1 {
		return 0
	}
	return m.Partition
}

// deadLetterRecord is the record of dead letter (or retry copy) dl, to
// partition part where the topic has it, else to part modulo its
// partition count (see balancer); kept are the Java classes of the
// original record's headers it keeps (keepJavaTypes).
func deadLetterRecord(topic string, part int, dl *stream.Envelope, kept map[string]string) kafkago.Message {
	hs := make([]kafkago.Header, 0, len(dl.Headers)+1)
	for k, v := range dl.Headers {
		if k == headerJSONTypes {
			continue // ours, below, lists what the record carries
		}
		hs = appendHeader(hs, dl.NativeHeaders, k, v) // a repeated header's every value
	}
	// The Java types of its headers: those kept from a Java producer's
	// record as it typed them, the others as the producer writes them (a
	// Java consumer of the dead-letter or retry topic reads them as
	// Strings; x-exception-* and x-original-* as byte[], as SCSt writes
	// them).
	hs, _ = appendJSONTypesKept(hs, nil, kept)
	return kafkago.Message{Topic: topic, Key: dl.Key, Value: dl.Payload, Headers: hs, Time: time.Now(), WriterData: part}
}

// headerOriginalTimestampType is SCSt's companion of x-original-timestamp.
const headerOriginalTimestampType = "x-original-timestamp-type"

// dlqWriter returns the consumer's dead-letter writer: batches of one
// record (so that a dead letter fitted to max.message.bytes is never
// batched with another into a batch over it), no size limit of kafka-go's
// own (fitDeadLetter and the broker decide), no compression.
func (c *consumer) dlqWriter() *kafkago.Writer {
	c.dlqMu.Lock()
	defer c.dlqMu.Unlock()
	if c.dlqW == nil {
		ps := c.cs.dlqProducer
		ps.batchSize, ps.batchTarget = 1, 0
		ps.batchBytes = math.MaxInt32
		c.dlqW = c.bd.newWriter("", ps)
	}
	return c.dlqW
}

// closeDLQ closes the dead-letter writer (Stop). kafka-go's Close waits
// for the writes in flight, each bounded only by write-timeout and
// send-attempts: against a broker that stopped answering that took
// minutes, so Stop waits for it only until ctx ends or close-timeout
// passed (as for leaving the group), and the close goes on in the
// background. The writer is taken out under the lock and closed outside
// it: handlers still dead-lettering after Stop ran out of time (their
// context is cancelled: they give up) never wait for the close.
func (c *consumer) closeDLQ(ctx context.Context) {
	c.dlqMu.Lock()
	w := c.dlqW
	c.dlqW = nil
	c.dlqMu.Unlock()
	if w == nil {
		return
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if err := w.Close(); err != nil {
			c.log.Debug("kafka: closing the dead-letter writer", "error", c.bd.logErr(err))
		}
	}()
	bound := time.NewTimer(c.bd.st.closeTimeout)
	defer bound.Stop()
	select {
	case <-closed:
	case <-ctx.Done():
		c.log.Debug("kafka: dead letters still being written at Stop's end; closing the dead-letter writer in the background")
	case <-bound.C:
		c.log.Warn("kafka: closing the dead-letter writer is taking long (dead letters still being written); continuing in the background")
	}
}
