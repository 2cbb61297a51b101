package kafka_test

// A batch refused with INVALID_RECORD whose answer names the records at
// fault (produce v8's RecordErrors, KIP-467, Kafka 2.4 on): only those
// fail, and the others are written again as one batch, not one by one.

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// keylessIndexes returns the indexes of the records without key in the
// (uncompressed) record batches b of a produce request's partition.
func keylessIndexes(b []byte) []int32 {
	var idx []int32
	i := int32(0)
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil || rb.Attributes&0x7 != 0 {
			return nil
		}
		recs := rb.Records
		for range rb.NumRecords {
			l, n := binary.Varint(recs)
			if n <= 0 || n+int(l) > len(recs) {
				return nil
			}
			var r kmsg.Record
			if err := r.ReadFrom(recs[:n+int(l)]); err != nil {
				return nil
			}
			if r.Key == nil {
				idx = append(idx, i)
			}
			i++
			recs = recs[n+int(l):]
		}
		size := 12 + int(rb.Length)
		if size > len(b) {
			break
		}
		b = b[size:]
	}
	return idx
}

// refuseKeylessNamed is refuseKeyless (break_invalidrecord_test.go) as
// Kafka answers since 2.4: the refusal names the keyless records
// (ErrorRecords). It counts the produce requests to topic.
func refuseKeylessNamed(c *kafkatest.Cluster, topic string, requests *atomic.Int32) {
	kf := c.Kfake
	kf.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		kf.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		bad := false
		for _, rt := range req.Topics {
			if rt.Topic != topic {
				return nil, nil, false
			}
			requests.Add(1)
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				idx := keylessIndexes(rp.Records)
				if len(idx) == 0 {
					return nil, nil, false
				}
				bad = true
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.InvalidRecord.Code
				for _, i := range idx {
					msg := "Compacted topic cannot accept message without key in topic partition " + topic + "-0."
					sp.ErrorRecords = append(sp.ErrorRecords, kmsg.ProduceResponseTopicPartitionErrorRecord{RelativeOffset: i, ErrorMessage: &msg})
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		if !bad {
			return nil, nil, false
		}
		return resp, nil, true
	})
}

// TestInvalidRecordNamedFailsOnlyIt: ten keyed sends and two without key
// share a batch on a topic that refuses records without key and names
// them; the ten are written, the two fail for good, and the ten go again
// in one batch: a few produce requests, not one per record (13 before).
func TestInvalidRecordNamedFailsOnlyIt(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	var requests atomic.Int32
	refuseKeylessNamed(c, dest, &requests)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "compact-out-0", Destination: dest,
		Extension: map[string]any{"batch-timeout": "200ms"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		env := stream.Envelope{Payload: []byte("v" + strconv.Itoa(i)), Key: []byte("k" + strconv.Itoa(i))}
		if i >= 10 {
			env.Key = nil
		}
		wg.Go(func() { errs[i] = p.Send(ctx, env) })
	}
	wg.Wait()
	for i, err := range errs[:10] {
		if err != nil {
			t.Errorf("keyed send %d, batched with keyless ones: %v", i, err)
		}
	}
	for i, err := range errs[10:] {
		if err == nil || !stream.IsPermanent(err) {
			t.Errorf("keyless send %d: %v; want a permanent error", i, err)
		}
	}
	if end := endOffset(t, c, dest, 0); end != 10 {
		t.Errorf("the topic holds %d records, want the 10 keyed ones", end)
	}
	if n := requests.Load(); n > 4 {
		t.Errorf("%d produce requests to the topic; want the batch and its valid records again (2; at most 4 if the sends did not share one batch)", n)
	}
}
