package kafka

import (
	"cmp"
	"context"
	"errors"
	"os"
	"slices"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
)

// Topics written by transactional producers (Java clients with
// transactional.id, SCSt's transaction-id-prefix, Kafka Streams
// exactly-once, Flink, NiFi) hold control batches — one transaction
// marker (COMMIT or ABORT) each — and, under read_committed, records of
// aborted transactions that the consumer must drop. kafka-go's
// connection reader (Conn.ReadBatchWith, fetch.go's readConn) tests
// neither a batch's control attribute nor the fetch answer's aborted
// transactions (kafka-go issue 1332): it hands out each marker as a
// record (a 4-byte key, a 6-byte value) and every aborted record.
//
// readProto reads a partition through kafka-go's protocol layer instead
// (a Fetch request over the binder's shared transport), whose answer
// keeps each batch's attributes and producer, and filters as the Java
// consumer does (CompletedFetch): control batches are never handed out;
// under read_committed, a transactional batch whose producer has an
// aborted transaction begun at or before it is dropped (the answer's
// aborted transactions, taken in order of their first offset, name the
// producers; that producer's ABORT marker ends it). A partition is read
// this way when its binding's isolation.level is read_committed, and
// from the first record that looks like a marker on (markerShaped): the
// protocol read tells a control batch from a real record of that shape,
// which is then handed out as usual. It stays so for the rest of the
// generation.
//
// Offsets the partition skips (markers, aborted records) still move its
// position: when an answer ends with skipped records, a skip mark (a
// pseudo-message, isSkip) goes through the fetch queue, and the worker
// — in every mode — takes it as handled without calling the handler, so
// the committed offset and the lag go past them (the Java client's
// position does; Spring's fixTxOffsets commits it). Skipped records
// followed by a handed-out one need no mark: handling that one commits
// past them.

// skipRecords marks a pseudo-message of the fetch queue (in
// Message.WriterData, which only kafka-go's Writer uses): the records up
// to and including its Offset were skipped (transaction markers, aborted
// records); nothing is handed to the handler for it.
type skipRecords struct{}

// isSkip reports whether m is a skip mark.
func isSkip(m *kafkago.Message) bool {
	_, ok := m.WriterData.(skipRecords)
	return ok
}

// markerShaped reports whether m has the shape of a transaction marker as
// kafka-go's connection reader hands it out: no headers, a 4-byte key
// (version 0, type 0 ABORT or 1 COMMIT) and a 6-byte value (version 0, a
// coordinator epoch). A real record may have it too; readProto tells.
func markerShaped(m *kafkago.Message) bool {
	k, v := m.Key, m.Value
	return len(k) == 4 && len(v) == 6 && len(m.Headers) == 0 &&
		k[0] == 0 && k[1] == 0 && k[2] == 0 && k[3] <= 1 && v[0] == 0 && v[1] == 0
}

// readProto fetches the partition from offset on through the protocol
// layer (see the top of this file) until a failure that needs the
// position checked again (true, with the offset to go on from: fetch
// reconnects, as after readConn) or wctx ends (false). Its errors are
// readConn's: an answer out of range or any other failure goes back to
// fetch (dialPartition reads the log's offsets and applies outOfRange);
// an answer not come within fetchReadTimeout is a WARN. An answer from a
// broker no longer the leader is retried here a while (staleLeader).
func (w *partWorker) readProto(ctx context.Context, offset int64, q *fetchQueue) (int64, bool) {
	c := w.r.c
	bd := c.bd
	readTimeout := fetchReadTimeout(c.cs.maxWait, c.cs.groupTimeout)
	readCommitted := c.cs.isolation == kafkago.ReadCommitted
	stale := 0 // answers in a row naming another leader
	for {
		part, timedOut, err := bd.fetchPartition(ctx, w.topic, w.part, offset, fetchParams{maxWait: c.cs.maxWait,
			minBytes: c.cs.minBytes, maxBytes: c.cs.maxBytes, isolation: c.cs.isolation, readTimeout: readTimeout})
		if ctx.Err() != nil {
			return offset, false
		}
		switch {
		case err == nil:
		case timedOut:
			w.log.Warn("kafka: fetch got no answer in time; reconnecting", "offset", offset, "timeout", readTimeout, "error", bd.logErr(err))
			return offset, true
		case errors.Is(err, kafkago.RequestTimedOut):
			w.pastEnd = 0
			continue
		case errors.Is(err, kafkago.OffsetOutOfRange):
			w.log.Debug("kafka: fetch out of range; reconnecting", "offset", offset)
			return offset, true
		case staleLeader(err) && stale < staleLeaderRetries:
			// The leader moved and the transport's metadata cache
			// (refreshed every MetadataTTL) names the old one: only time
			// helps. Reconnecting (fetch: dialPartition) would dial the
			// partition anew every fetchBackoff(1) meanwhile.
			stale++
			w.log.Debug("kafka: fetch answered by a broker no longer the leader; retrying", "offset", offset, "attempt", stale, "error", bd.logErr(err))
			if !sleepUntil(fetchBackoff(stale), ctx.Done()) {
				return offset, false
			}
			continue
		default:
			if errors.Is(err, protocol.ErrNoTopic) || errors.Is(err, protocol.ErrNoPartition) {
				// The transport's metadata cache does not know the
				// partition yet (a topic created since it was read).
				_, _ = bd.freshPartitions(ctx, w.topic, 0)
			}
			w.fetchFailed(offset, err) // fetch.go
			return offset, true
		}
		w.pastEnd, stale, w.fails = 0, 0, 0
		w.fetchAnswered(part.HighWatermark)
		from := offset
		var ok, got bool
		offset, got, ok = w.filterBatches(ctx, part, offset, readCommitted, q)
		if !ok {
			return offset, false
		}
		if got && offset == from && !sleepUntil(c.cs.maxWait, ctx.Done()) {
			// Batches but nothing at or past the position (a batch whose
			// last records compaction removed: kafka-go does not give a
			// batch's last offset): an answer like an empty one, not a
			// busy loop.
			return offset, false
		}
	}
}

// staleLeaderRetries bounds readProto's retries of a fetch answered by a
// broker that is not the leader (staleLeader) before it reconnects: with
// fetchBackoff, about 4.5s, twice the transport's MetadataTTL.
const staleLeaderRetries = 8

// staleLeader reports whether err says the fetch went to a broker that
// is not (or no longer) the partition's leader, or to none: the
// transport's metadata cache is behind a leader change.
func staleLeader(err error) bool {
	return errors.Is(err, kafkago.NotLeaderForPartition) || errors.Is(err, kafkago.LeaderNotAvailable) ||
		errors.Is(err, kafkago.FencedLeaderEpoch) || errors.Is(err, kafkago.UnknownLeaderEpoch) ||
		errors.Is(err, kafkago.ReplicaNotAvailable) || errors.Is(err, protocol.ErrNoLeader)
}

// fetchParams are a protocol-level fetch's settings.
type fetchParams struct {
	maxWait            time.Duration // the broker's wait for minBytes
	minBytes, maxBytes int
	isolation          kafkago.IsolationLevel
	// readTimeout bounds the wait for the answer (fetchReadTimeout).
	readTimeout time.Duration
}

// fetchPartition fetches topic's partition part from offset on through
// the binder's shared transport (which finds the leader), without a fetch
// session, as kafka-go's Conn does. timedOut says that no answer came
// within fp.readTimeout. Shared by the consumer's readProto and the
// dead-letter store's cursor.
func (bd *Binder) fetchPartition(ctx context.Context, topic string, part int, offset int64, fp fetchParams) (p *fetchapi.ResponsePartition, timedOut bool, err error) {
	rctx, cancel := context.WithTimeout(ctx, fp.readTimeout)
	defer cancel()
	m, err := bd.transport.RoundTrip(rctx, bd.admin.Addr, &fetchapi.Request{
		ReplicaID:      -1,
		MaxWaitTime:    int32(fp.maxWait.Milliseconds()),
		MinBytes:       int32(fp.minBytes),
		MaxBytes:       int32(fp.maxBytes),
		IsolationLevel: int8(fp.isolation),
		SessionEpoch:   -1, // no fetch session (as kafka-go's Conn)
		Topics: []fetchapi.RequestTopic{{Topic: topic, Partitions: []fetchapi.RequestPartition{{
			Partition: int32(part), CurrentLeaderEpoch: -1, FetchOffset: offset, LogStartOffset: -1,
			PartitionMaxBytes: int32(fp.maxBytes),
		}}}},
	})
	// The transport's connection takes rctx's deadline as its own: its
	// i/o timeout comes at the same instant as rctx's, often first.
	timedOut = rctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)
	if err != nil {
		return nil, timedOut, err
	}
	p, err = fetchedPartition(m, topic, part)
	return p, timedOut, err
}

// fetchedPartition returns the answer of a fetch for topic's partition
// part, or its error.
func fetchedPartition(m protocol.Message, topic string, part int) (*fetchapi.ResponsePartition, error) {
	res, ok := m.(*fetchapi.Response)
	if !ok {
		return nil, errors.New("kafka: unexpected answer to a fetch request")
	}
	if res.ErrorCode != 0 {
		return nil, kafkago.Error(res.ErrorCode)
	}
	for i := range res.Topics {
		t := &res.Topics[i]
		if t.Topic != topic {
			continue
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			if int(p.Partition) != part {
				continue
			}
			if p.ErrorCode != 0 {
				return nil, kafkago.Error(p.ErrorCode)
			}
			return p, nil
		}
	}
	return nil, protocol.ErrNoPartition
}

// filterBatches puts the records of part's batches at or past offset
// into q, without control batches and, under read_committed, without
// aborted transactions (filterFetched), and a skip mark when the answer
// ends with skipped records. It returns the offset to fetch next, whether
// the answer held any batch, and false when ctx ended.
func (w *partWorker) filterBatches(ctx context.Context, part *fetchapi.ResponsePartition, offset int64, readCommitted bool, q *fetchQueue) (next int64, got, ok bool) {
	skipFirst, skipLast := int64(-1), int64(-1)
	got, ok = filterFetched(part, w.topic, w.part, offset, readCommitted, func(m *kafkago.Message) bool {
		w.fetched(m)
		if _, ok := q.put(m, ctx.Done()); !ok {
			return false
		}
		offset = m.Offset + 1
		return true
	}, func(off int64) {
		if skipLast < offset { // the first skipped since the last one handed out
			skipFirst = off
		}
		skipLast = off
	})
	if !ok {
		return offset, got, false
	}
	if skipLast >= offset {
		mark := kafkago.Message{Topic: w.topic, Partition: w.part, Offset: skipLast, HighWaterMark: part.HighWatermark, WriterData: skipRecords{}}
		w.fetchedSkip(skipFirst, &mark)
		if _, ok := q.put(&mark, ctx.Done()); !ok {
			return offset, got, false
		}
		offset = skipLast + 1
	}
	return offset, got, true
}

// filterFetched walks the records of part's batches (topic's partition
// partition) at or past offset, as the Java consumer does (see the top of
// this file): put gets each record to hand out (false from it stops the
// walk: filterFetched returns ok false); skip gets, in offset order with
// them, the offset of each record not handed out — a transaction marker
// or, under read_committed, a record of an aborted transaction. got says
// whether the answer held any batch. The one filter of transactional
// topics, shared by the consumer (filterBatches) and the dead-letter
// store (dlstore.go).
func filterFetched(part *fetchapi.ResponsePartition, topic string, partition int, offset int64, readCommitted bool,
	put func(*kafkago.Message) bool, skip func(off int64)) (got, ok bool) {
	var batches []protocol.RecordReader
	switch rs := part.RecordSet.Records.(type) {
	case nil:
		return false, true
	case *protocol.RecordStream:
		batches = rs.Records
	default:
		batches = []protocol.RecordReader{rs}
	}
	aborted := part.AbortedTransactions
	if readCommitted && len(aborted) > 1 {
		aborted = slices.Clone(aborted)
		slices.SortFunc(aborted, func(a, b fetchapi.ResponseTransaction) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
	}
	var abortedBy map[int64]struct{} // producers within an aborted transaction
	for i, b := range batches {
		var base, producer int64 = 0, -1
		transactional, control := false, false
		switch b := b.(type) {
		case *protocol.RecordBatch:
			base, producer, transactional = b.BaseOffset, b.ProducerID, b.Attributes.Transactional()
		case *protocol.ControlBatch:
			base, producer, control = b.BaseOffset, b.ProducerID, true
		}
		if readCommitted && producer >= 0 {
			// A transaction's first offset is the base offset of its
			// producer's first batch in it.
			for len(aborted) > 0 && aborted[0].FirstOffset <= base {
				if abortedBy == nil {
					abortedBy = map[int64]struct{}{}
				}
				abortedBy[aborted[0].ProducerID] = struct{}{}
				aborted = aborted[1:]
			}
		}
		if control {
			cb := b.(*protocol.ControlBatch)
			if cr, err := cb.ReadControlRecord(); err == nil && cr.Type == 0 { // ABORT
				delete(abortedBy, producer)
			}
			if base >= offset {
				skip(base) // a control batch holds one record
			}
			drainRecords(cb)
			continue
		}
		_, abortedTxn := abortedBy[producer]
		abortedTxn = abortedTxn && transactional
		for {
			r, err := b.ReadRecord()
			if err != nil {
				break
			}
			if r.Offset < offset || abortedTxn {
				if r.Offset >= offset {
					skip(r.Offset)
				}
				closeRecord(r)
				continue
			}
			msg := kafkago.Message{Topic: topic, Partition: partition, Offset: r.Offset, HighWaterMark: part.HighWatermark,
				Headers: r.Headers, Time: recordTime(r.Time)}
			msg.Key, _ = protocol.ReadAll(r.Key)
			msg.Value, _ = protocol.ReadAll(r.Value)
			closeRecord(r)
			if !put(&msg) {
				for _, rest := range batches[i:] {
					drainRecords(rest)
				}
				return true, false
			}
		}
	}
	return len(batches) > 0, true
}

// recordTime is a record's timestamp as kafka-go's connection reader
// (readConn) gives it: the zero time for a record without one (-1, and
// 0), where the protocol layer gives the time of its milliseconds (-1:
// 1969-12-31T23:59:59.999Z). The handler's stream.Received.Timestamp is
// then zero when not known, and the dead letter says NoTimestampType
// (deadLetterEnvelope), on both fetch paths.
func recordTime(t time.Time) time.Time {
	if t.UnixMilli() <= 0 {
		return time.Time{}
	}
	return t
}

// closeRecord gives a record's key and value back to their buffers.
func closeRecord(r *protocol.Record) {
	if r.Key != nil {
		_ = r.Key.Close()
	}
	if r.Value != nil {
		_ = r.Value.Close()
	}
}

// drainRecords closes what is left of a batch's records.
func drainRecords(b protocol.RecordReader) {
	for {
		r, err := b.ReadRecord()
		if err != nil {
			return
		}
		closeRecord(r)
	}
}

// fetchedSkip notes a skip mark as fetched (lag.go's fetched): a
// position not known yet is the first skipped offset.
func (w *partWorker) fetchedSkip(first int64, m *kafkago.Message) {
	if w.ls.pos.Load() < 0 {
		w.ls.pos.CompareAndSwap(-1, first)
	}
	storeMax(&w.ls.end, m.HighWaterMark)
}

// skipped takes a skip mark as handled: the partition's position and
// commit go past it. The worker's, in offset order with its messages.
func (w *partWorker) skipped(m *kafkago.Message) {
	w.finished(m.Offset + 1)
	w.cm.mark(w.po, m.Offset+1)
}
