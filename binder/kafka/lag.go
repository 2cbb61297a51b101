package kafka

import (
	"context"
	"sync/atomic"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// Lag reports, for every partition assigned to the consumer, how many
// messages lie between its position — the offset after the last message
// it finished, which is what it commits — and the end of the partition.
// The end offsets are asked of the cluster every lag-interval (and
// raised by the high-water mark of each fetched message), whether or not
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

// refreshLag asks the cluster for the first and end offsets of the
// generation's partitions every lag-interval until ctx ends.
func (r *run) refreshLag(ctx context.Context, ws []*partWorker) {
	if len(ws) == 0 {
		return
	}
	bd := r.c.bd
	req := map[string][]kafkago.OffsetRequest{}
	for _, w := range ws {
		req[w.topic] = append(req[w.topic], kafkago.FirstOffsetOf(w.part), kafkago.LastOffsetOf(w.part))
	}
	for {
		lctx, cancel := context.WithTimeout(ctx, bd.st.healthTimeout)
		res, err := bd.admin.ListOffsets(lctx, &kafkago.ListOffsetsRequest{Topics: req})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.c.log.Debug("kafka: reading end offsets for the lag failed", "error", bd.logErr(err))
		} else {
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
		if !sleepUntil(bd.st.lagInterval, ctx.Done()) {
			return
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
