package kafka

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// fetchBatchTimeout bounds a read of a fetched batch's next record from the
// connection (kafka-go's Reader's ReadBatchTimeout).
const fetchBatchTimeout = 10 * time.Second

// fetchDeadlineEvery is how many records are read under one deadline.
const fetchDeadlineEvery = 256

// fetch reads the partition from w.offset on into q until wctx ends, one
// fetch request at a time over a connection to the partition's leader,
// the records of each response put into q as they are decoded. It is what
// a kafka-go Reader of one partition does, without the Reader's own
// goroutine and channel between the connection and this loop (a
// goroutine hand-off and two mutexes per message less): connection
// failures, a new leader or an unknown partition redial with back-off; an
// offset out of range moves to the first offset when it is below it, and
// when it is past the end of the log (the topic was deleted and created
// again, or the log lost its tail) the position is reset to the binding's
// start offset, as Kafka's consumer applies auto.offset.reset (see
// outOfRange).
//
// A partition whose binding reads read_committed, or from the first
// record that looks like a transaction marker on, is read through the
// protocol layer instead (readProto, fetchtxn.go), which drops markers
// and aborted transactions.
func (w *partWorker) fetch(q *fetchQueue) {
	c := w.r.c
	ctx := w.wctx
	offset := w.offset
	w.proto = c.cs.isolation == kafkago.ReadCommitted
	for attempt := 0; ; attempt++ {
		// Fetches failing at one offset (fetchFailed) back off as failed
		// connections do: each is followed by a new connection.
		if attempt > 0 && !sleepUntil(fetchBackoff(max(attempt, w.fails)), ctx.Done()) {
			return
		}
		conn, start, err := w.dialPartition(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			level := "kafka: connecting to the partition leader failed; retrying"
			if attempt >= 3 {
				w.log.Warn(level, "attempt", attempt+1, "error", c.bd.logErr(err))
			} else {
				w.log.Debug(level, "attempt", attempt+1, "error", c.bd.logErr(err))
			}
			continue
		}
		attempt = 0
		offset = start
		var ok bool
		if w.proto {
			// dialPartition resolved and checked the position.
			_ = conn.Close()
			offset, ok = w.readProto(ctx, offset, q) // fetchtxn.go
		} else {
			offset, ok = w.readConn(ctx, conn, offset, q)
			_ = conn.Close()
			if ok && w.proto { // a marker-shaped record at offset
				offset, ok = w.readProto(ctx, offset, q)
			}
		}
		if !ok {
			return
		}
	}
}

// fetchBackoff is the wait before the attempt-th reconnection.
func fetchBackoff(attempt int) time.Duration {
	d := 50 * time.Millisecond
	for i := 1; i < attempt && d < time.Second; i++ {
		d *= 2
	}
	return min(d, time.Second)
}

// pastEndChecks is how many connections in a row must find the position
// past the end of the partition's log (the log's last offset below it,
// the fetches between them answered out of range) before the fetcher
// resets the position (outOfRange): a single answer may be transient, and
// a reset re-delivers (earliest) or skips (latest) records. With the
// reconnection back-off (fetchBackoff), the third comes at least 100ms
// after the first.
const pastEndChecks = 3

// dialPartition connects to the partition's leader (through the first
// broker that answers) and positions the connection at offset (FirstOffset
// and LastOffset resolved, an offset outside the log's moved as
// outOfRange says).
func (w *partWorker) dialPartition(ctx context.Context, offset int64) (*kafkago.Conn, int64, error) {
	c := w.r.c
	var errs []error
	for _, broker := range c.bd.st.brokers {
		conn, err := c.bd.dialer.DialLeader(ctx, "tcp", broker, w.topic, w.part)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_ = conn.SetDeadline(time.Now().Add(fetchBatchTimeout))
		first, last, err := conn.ReadOffsets()
		if err != nil {
			_ = conn.Close()
			return nil, 0, err
		}
		switch offset {
		case kafkago.FirstOffset:
			offset = first
		case kafkago.LastOffset:
			offset = last
		default:
			offset = w.outOfRange(offset, first, last)
		}
		// Checked against first and last above.
		start, err := conn.Seek(offset, kafkago.SeekAbsolute|kafkago.SeekDontCheck)
		if err != nil {
			_ = conn.Close()
			return nil, 0, err
		}
		_ = conn.SetDeadline(time.Time{})
		return conn, start, nil
	}
	return nil, 0, errors.Join(errs...)
}

// readConn fetches from conn until a failure that needs a new connection
// (true, with the offset to go on from) or wctx ends (false). A record
// shaped like a transaction marker (markerShaped) ends it too (true, at
// that record's offset, w.proto set): kafka-go's connection reader hands
// markers out as records, and readProto tells.
func (w *partWorker) readConn(ctx context.Context, conn *kafkago.Conn, offset int64, q *fetchQueue) (int64, bool) {
	c := w.r.c
	// A read blocked on the connection ends when wctx does.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	// The broker is asked to wait max-wait exactly (MaxWait set: kafka-go
	// sends it as is), and its answer is awaited max-wait plus the
	// request timeout (fetchReadTimeout): an empty answer that comes late,
	// from a far or busy broker, is an idle fetch like any other.
	cfg := kafkago.ReadBatchConfig{MinBytes: c.cs.minBytes, MaxBytes: c.cs.maxBytes, IsolationLevel: c.cs.isolation,
		MaxWait: c.cs.maxWait}
	readTimeout := fetchReadTimeout(c.cs.maxWait, c.cs.groupTimeout)
	errcount := 0
	for {
		if errcount > 0 && !sleepUntil(fetchBackoff(errcount), ctx.Done()) {
			return offset, false
		}
		_ = conn.SetReadDeadline(time.Now().Add(readTimeout))
		batch := conn.ReadBatchWith(cfg)
		if batch.Err() == nil {
			w.fetchAnswered(batch.HighWaterMark())
		}
		// A deadline for the next records of the response, renewed every
		// fetchDeadlineEvery records (a large response on a slow link
		// keeps going) and after the worker made the reader wait, rather
		// than per record as kafka-go's Reader does (a clock read and a
		// poller update each).
		_ = conn.SetReadDeadline(time.Now().Add(fetchBatchTimeout))
		var err error
		n := 0
		for {
			var m kafkago.Message
			if m, err = batch.ReadMessage(); err != nil {
				break
			}
			if markerShaped(&m) { // fetchtxn.go
				_ = batch.Close()
				w.proto = true
				w.log.Debug("kafka: a record shaped like a transaction marker; reading the partition through the protocol layer", "offset", m.Offset)
				return m.Offset, ctx.Err() == nil
			}
			w.fetched(&m)
			waited, ok := q.put(&m, ctx.Done())
			if !ok {
				_ = batch.Close()
				return offset, false
			}
			offset = m.Offset + 1
			if n++; waited || n%fetchDeadlineEvery == 0 {
				_ = conn.SetReadDeadline(time.Now().Add(fetchBatchTimeout))
			}
		}
		var kerr kafkago.Error
		if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &kerr) {
			// The response could not be decoded (a corrupt record batch,
			// say): what is left of it is not read (Close would wait for
			// it until the read deadline), the connection goes.
			_ = conn.Close()
		}
		if cerr := batch.Close(); err == nil || errors.Is(err, io.EOF) {
			err = cerr
		}
		if ctx.Err() != nil {
			return offset, false
		}
		switch {
		case err == nil, errors.Is(err, io.EOF), errors.Is(err, kafkago.RequestTimedOut):
			errcount, w.pastEnd, w.fails = 0, 0, 0
		case errors.Is(err, kafkago.OffsetOutOfRange):
			// kafka-go leaves the rest of an error's response unread on
			// the connection (a request on it fails): dialPartition reads
			// the log's offsets on a new one and decides (outOfRange).
			w.log.Debug("kafka: fetch out of range; reconnecting", "offset", offset)
			return offset, true
		case errors.Is(err, os.ErrDeadlineExceeded):
			// No answer within max-wait plus the request timeout: the
			// broker or the path to it is gone (kafka-go closed the
			// connection). Rare enough to say so.
			w.log.Warn("kafka: fetch got no answer in time; reconnecting", "offset", offset, "timeout", readTimeout, "error", c.bd.logErr(err))
			return offset, true
		default:
			w.fetchFailed(offset, err)
			return offset, true
		}
	}
}

// fetchFailWarnAt is how many fetches in a row may fail at one offset
// before fetchFailed warns.
const fetchFailWarnAt = 3

// fetchFailed logs a fetch that failed at offset (neither out of range
// nor without an answer: those have their own handling), after which the
// partition is dialled again. One failure is logged at debug (a dropped
// connection). Fetches that keep failing at the same offset stop the
// partition: a record batch there that cannot be decoded (corrupt, a
// compression the client cannot read) is fetched again and again and
// never handed out — it is not skipped, which would lose its records —
// so the third failure in a row at an offset is a WARN naming the offset
// and the error, repeated after 6, 12, 24 ... failures; the reconnections
// back off to 1s meanwhile (see fetch). Before, every failure was a debug
// line: a partition stopped for good said nothing.
//
// A broker's answer that the partition's leadership is moving
// (leaderMoving: a leader change, a broker catching up on metadata) is
// not a failure at the offset: it is not counted (the reconnection asks
// for the leader again). The WARN says that a record batch may not be
// decodable only for an error that is neither a broker's answer nor a
// failed connection (undecodable): three connections dropped in a row at
// one offset are a WARN too, about them.
func (w *partWorker) fetchFailed(offset int64, err error) {
	bd := w.r.c.bd
	if leaderMoving(err) {
		w.log.Debug("kafka: fetch failed; reconnecting", "offset", offset, "error", bd.logErr(err))
		return
	}
	if offset != w.failAt {
		w.failAt, w.fails = offset, 0
	}
	w.fails++
	if n := w.fails; n < fetchFailWarnAt || n%fetchFailWarnAt != 0 || (n/fetchFailWarnAt)&(n/fetchFailWarnAt-1) != 0 {
		w.log.Debug("kafka: fetch failed; reconnecting", "offset", offset, "error", bd.logErr(err))
		return
	}
	if undecodable(err) {
		w.log.Warn("kafka: fetching the partition keeps failing at this offset; it does not advance until the records there can be read (a record batch that cannot be decoded, corrupt or in a compression the client does not read, stops its partition: it is not skipped)",
			"topic", w.topic, "offset", offset, "failures", w.fails, "error", bd.logErr(err))
		return
	}
	w.log.Warn("kafka: fetching the partition keeps failing at this offset; it does not advance until a fetch there succeeds",
		"topic", w.topic, "offset", offset, "failures", w.fails, "error", bd.logErr(err))
}

// leaderMoving reports whether a fetch's err is a broker's answer that
// the partition's leadership is moving: a broker no longer (or not yet)
// the leader, or one that does not know the partition yet (its metadata,
// or the transport's cache, behind).
func leaderMoving(err error) bool {
	return staleLeader(err) || errors.Is(err, kafkago.UnknownTopicOrPartition) ||
		errors.Is(err, protocol.ErrNoTopic) || errors.Is(err, protocol.ErrNoPartition)
}

// undecodable reports whether a fetch's err may be an answer that could
// not be decoded: neither a broker's error code nor a failed connection
// (closed, reset, cut short, timed out).
func undecodable(err error) bool {
	var kerr kafkago.Error
	var op *net.OpError
	return !errors.As(err, &kerr) && !errors.As(err, &op) &&
		!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) &&
		!errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) &&
		!errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// fetchReadTimeout is how long a fetch's answer is awaited: the broker's
// wait (maxWait, fetch.max.wait.ms) plus a round trip bounded by the
// request timeout (request.timeout.ms; default dial-timeout, 10s), as the
// Java client bounds a fetch by request.timeout.ms (30s, its max wait
// 500ms) and kafka-go's Reader keeps 1s of its 10s MaxWait for the round
// trip. The read deadline used to be max-wait itself, of which kafka-go
// keeps only a quarter for the round trip under 1s: every empty answer
// more than 62ms late (250ms max-wait) was an i/o timeout, and the
// partition reconnected — a metadata request, a connection, two
// ListOffsets — several times a second while idle. A broker that does not
// answer at all is still found out within this time (the connection is
// closed and dialled again).
func fetchReadTimeout(maxWait, requestTimeout time.Duration) time.Duration {
	return maxWait + requestTimeout
}

// outOfRange returns where the fetcher positions a connection for offset,
// the partition's log holding first up to (not including) last
// (dialPartition read them; a fetch answered out of range reconnects to
// get here).
//
// A position within the log, or at its end, stays. A position before the
// first offset (records deleted by retention or DeleteRecords) skips to
// the first. A position past the end means that the log no longer holds
// it: the topic was deleted and created again, or the log lost its tail
// (an unclean leader election). Waiting for the log to grow past the
// position, as kafka-go's Reader does, would skip every new record before
// it — a silent loss; instead, once pastEndChecks connections in a row
// found it so (the fetches between them answered out of range), the
// position is reset to the binding's start offset (start-offset; by
// default the earliest for a named group, the latest for an anonymous
// consumer), as Kafka's consumer applies auto.offset.reset, with a WARN
// line. Until then it stays, and the next fetch answers out of range
// again (or reads, if the log grew back meanwhile).
//
// Records after a reset have lower offsets than those handled before it:
// the worker (in every mode) takes the offsets as they come, and the
// committer forgets what it knew of the old log's commits (partOffset.reset),
// so they are handled and committed as usual, even where the new log's
// processed prefix equals the old log's last commit.
func (w *partWorker) outOfRange(offset, first, last int64) int64 {
	switch {
	case offset < first:
		w.pastEnd = 0
		w.log.Warn("kafka: the partition's records before the position were deleted; skipping to the first offset", "topic", w.topic, "offset", offset, "first", first)
		w.resetLag(first, last)
		return first
	case offset <= last:
		w.pastEnd = 0
		return offset
	}
	w.pastEnd++
	if w.pastEnd < pastEndChecks {
		w.log.Debug("kafka: the position is past the end of the partition's log; asking again", "topic", w.topic, "offset", offset, "first", first, "last", last, "check", w.pastEnd)
		return offset
	}
	w.pastEnd = 0
	to, policy := first, "earliest"
	if w.r.startOffset() == kafkago.LastOffset {
		to, policy = last, "latest"
	}
	// w.log names the partition.
	w.log.Warn("kafka: the partition's log no longer holds the position: topic re-created or truncated; resetting to the start offset",
		"topic", w.topic, "offset", offset, "new_offset", to, "start_offset", policy, "first", first, "last", last)
	w.resetLag(to, last)
	w.po.reset.Store(true) // before any record of the new log is handled (see partOffset.reset)
	return to
}

// resetLag moves the lag's position to offset and its end offset to end,
// which may be lower than the one known (the log was re-created).
func (w *partWorker) resetLag(offset, end int64) {
	w.ls.pos.Store(offset)
	w.ls.end.Store(end)
}
