package kafka

import (
	"cmp"
	"context"
	"errors"
	"os"
	"slices"

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
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		m, err := bd.transport.RoundTrip(rctx, bd.admin.Addr, &fetchapi.Request{
			ReplicaID:      -1,
			MaxWaitTime:    int32(c.cs.maxWait.Milliseconds()),
			MinBytes:       int32(c.cs.minBytes),
			MaxBytes:       int32(c.cs.maxBytes),
			IsolationLevel: int8(c.cs.isolation),
			SessionEpoch:   -1, // no fetch session (as kafka-go's Conn)
			Topics: []fetchapi.RequestTopic{{Topic: w.topic, Partitions: []fetchapi.RequestPartition{{
				Partition: int32(w.part), CurrentLeaderEpoch: -1, FetchOffset: offset, LogStartOffset: -1,
				PartitionMaxBytes: int32(c.cs.maxBytes),
			}}}},
		})
		// The transport's connection takes rctx's deadline as its own: its
		// i/o timeout comes at the same instant as rctx's, often first.
		timedOut := rctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)
		cancel()
		if ctx.Err() != nil {
			return offset, false
		}
		var part *fetchapi.ResponsePartition
		if err == nil {
			part, err = fetchedPartition(m, w.topic, w.part)
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
			w.log.Debug("kafka: fetch failed; reconnecting", "offset", offset, "error", bd.logErr(err))
			return offset, true
		}
		w.pastEnd, stale = 0, 0
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
// aborted transactions (see the top of this file), and a skip mark when
// the answer ends with skipped records. It returns the offset to fetch
// next, whether the answer held any batch, and false when ctx ended.
func (w *partWorker) filterBatches(ctx context.Context, part *fetchapi.ResponsePartition, offset int64, readCommitted bool, q *fetchQueue) (next int64, got, ok bool) {
	var batches []protocol.RecordReader
	switch rs := part.RecordSet.Records.(type) {
	case nil:
		return offset, false, true
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
	skipFirst, skipLast := int64(-1), int64(-1)
	skip := func(off int64) {
		if off < offset {
			return
		}
		if skipLast < offset {
			skipFirst = off
		}
		skipLast = off
	}
	for _, b := range batches {
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
			skip(base) // a control batch holds one record
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
				skip(r.Offset)
				closeRecord(r)
				continue
			}
			msg := kafkago.Message{Topic: w.topic, Partition: w.part, Offset: r.Offset, HighWaterMark: part.HighWatermark,
				Headers: r.Headers, Time: r.Time}
			msg.Key, _ = protocol.ReadAll(r.Key)
			msg.Value, _ = protocol.ReadAll(r.Value)
			closeRecord(r)
			w.fetched(&msg)
			if _, ok := q.put(&msg, ctx.Done()); !ok {
				return offset, true, false
			}
			offset = msg.Offset + 1
		}
	}
	if skipLast >= offset {
		mark := kafkago.Message{Topic: w.topic, Partition: w.part, Offset: skipLast, HighWaterMark: part.HighWatermark, WriterData: skipRecords{}}
		w.fetchedSkip(skipFirst, &mark)
		if _, ok := q.put(&mark, ctx.Done()); !ok {
			return offset, true, false
		}
		offset = skipLast + 1
	}
	return offset, len(batches) > 0, true
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
