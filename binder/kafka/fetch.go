package kafka

import (
	"context"
	"errors"
	"io"
	"time"

	kafkago "github.com/segmentio/kafka-go"
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
// failures, a new leader or an unknown partition redial with back-off,
// an offset out of range moves to the first offset when it is below it
// and waits otherwise.
func (w *partWorker) fetch(q *fetchQueue) {
	c := w.r.c
	ctx := w.wctx
	offset := w.offset
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleepUntil(fetchBackoff(attempt), ctx.Done()) {
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
		offset, ok = w.readConn(ctx, conn, offset, q)
		_ = conn.Close()
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

// dialPartition connects to the partition's leader (through the first
// broker that answers) and positions the connection at offset (FirstOffset
// and LastOffset resolved, an offset before the first moved to the first).
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
		switch {
		case offset == kafkago.FirstOffset:
			offset = first
		case offset == kafkago.LastOffset:
			offset = last
		case offset < first:
			offset = first
		}
		start, err := conn.Seek(offset, kafkago.SeekAbsolute)
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
// (true, with the offset to go on from) or wctx ends (false).
func (w *partWorker) readConn(ctx context.Context, conn *kafkago.Conn, offset int64, q *fetchQueue) (int64, bool) {
	c := w.r.c
	// A read blocked on the connection ends when wctx does.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	// MaxWait is left to kafka-go, which derives the broker's wait from
	// the read deadline less a round trip (as its Reader does): the same
	// value for both would race the broker's empty answer with the
	// deadline.
	cfg := kafkago.ReadBatchConfig{MinBytes: c.cs.minBytes, MaxBytes: c.cs.maxBytes, IsolationLevel: c.cs.isolation}
	errcount := 0
	for {
		if errcount > 0 && !sleepUntil(fetchBackoff(errcount), ctx.Done()) {
			return offset, false
		}
		_ = conn.SetReadDeadline(time.Now().Add(c.cs.maxWait))
		batch := conn.ReadBatchWith(cfg)
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
		if cerr := batch.Close(); err == nil || errors.Is(err, io.EOF) {
			err = cerr
		}
		if ctx.Err() != nil {
			return offset, false
		}
		switch {
		case err == nil, errors.Is(err, io.EOF), errors.Is(err, kafkago.RequestTimedOut):
			errcount = 0
		case errors.Is(err, kafkago.OffsetOutOfRange):
			_ = conn.SetDeadline(time.Now().Add(fetchBatchTimeout))
			first, last, oerr := conn.ReadOffsets()
			_ = conn.SetDeadline(time.Time{})
			switch {
			case oerr != nil:
				return offset, true
			case offset < first:
				w.log.Warn("kafka: the partition's records before the position were deleted; skipping to the first offset", "offset", offset, "first", first)
				if _, serr := conn.Seek(first, kafkago.SeekAbsolute|kafkago.SeekDontCheck); serr != nil {
					return first, true
				}
				offset, errcount = first, 0
			case offset < last:
				errcount = 0
			default:
				errcount++ // past the end: wait and ask again
			}
		default:
			w.log.Debug("kafka: fetch failed; reconnecting", "offset", offset, "error", c.bd.logErr(err))
			return offset, true
		}
	}
}
