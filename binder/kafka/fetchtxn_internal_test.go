package kafka

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
)

// TestFilterBatchesInterleaved: the fetch answer's filter (the Java
// consumer's CompletedFetch) with three producers interleaved — P1's
// aborted transaction around P2's committed one, then a new committed
// transaction of P1, an idempotent non-transactional P3 — hands out only
// committed records under read_committed (P1's new transaction too: its
// ABORT marker ended the aborted one), everything but the markers under
// read_uncommitted, skips records before the fetch offset, and ends with
// a skip mark over the trailing marker.
func TestFilterBatchesInterleaved(t *testing.T) {
	data := func(off, producer int64, txn bool, v string) protocol.RecordReader {
		var a protocol.Attributes
		if txn {
			a = protocol.Transactional
		}
		return &protocol.RecordBatch{Attributes: a, BaseOffset: off, ProducerID: producer,
			Records: protocol.NewRecordReader(protocol.Record{Offset: off, Value: protocol.NewBytes([]byte(v))})}
	}
	marker := func(off, producer int64, commit bool) protocol.RecordReader {
		cr := protocol.ControlRecord{Offset: off}
		if commit {
			cr.Type = 1
		}
		return &protocol.ControlBatch{Attributes: protocol.Transactional | protocol.Control, BaseOffset: off, ProducerID: producer,
			Records: protocol.NewRecordReader(cr.Record())}
	}
	answer := func() *fetchapi.ResponsePartition {
		return &fetchapi.ResponsePartition{HighWatermark: 8,
			AbortedTransactions: []fetchapi.ResponseTransaction{{ProducerID: 1, FirstOffset: 0}},
			RecordSet: protocol.RecordSet{Records: &protocol.RecordStream{Records: []protocol.RecordReader{
				data(0, 1, true, "x1"), // P1, aborted
				data(1, 2, true, "y1"), // P2, committed
				data(2, 1, true, "x2"), // P1, aborted
				marker(3, 1, false),    // P1 ABORT
				marker(4, 2, true),     // P2 COMMIT
				data(5, 3, false, "z"), // P3, no transaction
				data(6, 1, true, "x3"), // P1, committed
				marker(7, 1, true),     // P1 COMMIT
			}}}}
	}
	cases := []struct {
		name          string
		from          int64
		readCommitted bool
		want          []string
	}{
		{"read_committed", 0, true, []string{"1:y1", "5:z", "6:x3", "7:skip"}},
		{"read_uncommitted", 0, false, []string{"0:x1", "1:y1", "2:x2", "5:z", "6:x3", "7:skip"}},
		{"read_committed from 2", 2, true, []string{"5:z", "6:x3", "7:skip"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &partWorker{topic: "t", offset: tc.from}
			w.initLag()
			q := newFetchQueue(16)
			next, got, ok := w.filterBatches(context.Background(), answer(), tc.from, tc.readCommitted, q)
			if next != 8 || !got || !ok {
				t.Errorf("filterBatches = %d, %v, %v; want 8, true, true", next, got, ok)
			}
			ms, _, _ := q.poll(nil)
			var out []string
			for i := range ms {
				v := string(ms[i].Value)
				if isSkip(&ms[i]) {
					v = "skip"
				}
				out = append(out, strconv.FormatInt(ms[i].Offset, 10)+":"+v)
			}
			if !slices.Equal(out, tc.want) {
				t.Errorf("queued %q; want %q", out, tc.want)
			}
		})
	}
}
