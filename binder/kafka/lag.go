package kafka

import (
	"context"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// Lag reports, for every partition assigned to the consumer, how many
// messages lie between its position — the offset after the last message
// it finished, which is what it commits — and the end of the partition.
// The end offset is the high-water mark of the partition's last fetch
// answer (an empty one too: an idle partition's fetch is answered every
// max-wait); a partition whose fetcher gave none within lag-interval
// plus max-wait — it waits for its handler, or for its broker — has its
// end offset asked of the cluster every lag-interval, whether or not
// messages are handled, so a partition whose handler is stuck shows its
// real lag. Lag itself does no I/O; a partition is left out until its end
// offset is first known. It implements [stream.LagReporter].
func (c *consumer) Lag(context.Context) ([]stream.PartitionLag, error) {
	var out []stream.PartitionLag
	c.workers.Range(func(k, _ any) bool {
		w := k.(*partWorker)
		if l, ok := w.currentLag(); ok {
			out = append(out, stream.PartitionLag{Topic: w.topic, Partition: w.part, Lag: l})
		}
		return true
	})
	return out, nil
}

// lagState is what a partition worker knows for its lag. Every field is
// -1 while unknown.
type lagState struct {
	// pos is the offset of the next message to finish: the first one
	// fetched, then the one after the last finished.
	pos atomic.Int64
	// end is the partition's end offset (high-water mark), as last seen.
	end atomic.Int64
	// first is the partition's first offset, for a worker that started
	// at the earliest offset and has fetched nothing yet.
	first atomic.Int64
	// answered is when a fetch answer last gave end (UnixNano; 0: never).
	answered atomic.Int64
}

func (w *partWorker) initLag() {
	w.ls.pos.Store(-1)
	if w.offset >= 0 {
		w.ls.pos.Store(w.offset)
	}
	w.ls.end.Store(-1)
	w.ls.first.Store(-1)
}

// fetched notes that m was fetched: the position is known from the first
// message on, and its high-water mark is an end offset.
func (w *partWorker) fetched(m *kafkago.Message) {
	if w.ls.pos.Load() < 0 { // a load per message rather than a CAS
		w.ls.pos.CompareAndSwap(-1, m.Offset)
	}
	storeMax(&w.ls.end, m.HighWaterMark)
}

// fetchAnswered notes the high-water mark of a fetch answer, which
// keeps the end offset current without asking the cluster (refreshLag).
func (w *partWorker) fetchAnswered(hwm int64) {
	storeMax(&w.ls.end, hwm)
	w.ls.answered.Store(time.Now().UnixNano())
}

// finished notes that everything before offset next was handled.
func (w *partWorker) finished(next int64) { w.ls.pos.Store(next) }

func (w *partWorker) currentLag() (int64, bool) {
	end := w.ls.end.Load()
	if end < 0 {
		return 0, false
	}
	pos := w.ls.pos.Load()
	if pos < 0 {
		// Nothing fetched yet: from the earliest offset everything is
		// behind; from the latest, nothing.
		pos = end
		if first := w.ls.first.Load(); w.offset == kafkago.FirstOffset && first >= 0 {
			pos = first
		}
	}
	return max(end-pos, 0), true
}

// refreshLag asks the cluster, every lag-interval until ctx ends, for the
// end offsets of the generation's partitions whose fetcher gave none
// within lag-interval plus max-wait (fetchAnswered), and the first offsets of those that
// start at the earliest offset and have fetched nothing yet. An idle
// consumer, whose fetches are answered every max-wait, asks nothing:
// kafka-go sends a ListOffsets request per partition and offset asked
// (listoffsets.Request.Split), two per partition, which with many
// partitions was most of an idle consumer's requests.
func (r *run) refreshLag(ctx context.Context, ws []*partWorker) {
	if len(ws) == 0 {
		return
	}
	bd := r.c.bd
	for {
		req := map[string][]kafkago.OffsetRequest{}
		// An idle fetch is answered every max-wait.
		stale := time.Now().Add(-bd.st.lagInterval - r.c.cs.maxWait).UnixNano()
		for _, w := range ws {
			if w.ls.answered.Load() < stale {
				req[w.topic] = append(req[w.topic], kafkago.LastOffsetOf(w.part))
			}
			if w.offset == kafkago.FirstOffset && w.ls.pos.Load() < 0 && w.ls.first.Load() < 0 {
				req[w.topic] = append(req[w.topic], kafkago.FirstOffsetOf(w.part))
			}
		}
		if len(req) > 0 {
			r.askLag(ctx, ws, req)
		}
		if !sleepUntil(bd.st.lagInterval, ctx.Done()) {
			return
		}
	}
}

// askLag asks the cluster for the offsets req names and notes them.
func (r *run) askLag(ctx context.Context, ws []*partWorker, req map[string][]kafkago.OffsetRequest) {
	bd := r.c.bd
	lctx, cancel := context.WithTimeout(ctx, bd.st.healthTimeout)
	res, err := bd.admin.ListOffsets(lctx, &kafkago.ListOffsetsRequest{Topics: req})
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			r.c.log.Debug("kafka: reading end offsets for the lag failed", "error", bd.logErr(err))
		}
		return
	}
	for _, w := range ws {
		for _, po := range res.Topics[w.topic] {
			if po.Partition != w.part || po.Error != nil {
				continue
			}
			if po.FirstOffset >= 0 {
				w.ls.first.Store(po.FirstOffset)
			}
			storeMax(&w.ls.end, po.LastOffset)
		}
	}
}

// storeMax raises a to v.
func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
