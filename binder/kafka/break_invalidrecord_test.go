package kafka_test

// A batch the broker refuses for one invalid record (found by the
// "breaker" review): Kafka answers INVALID_RECORD for the whole batch
// when any record of it is invalid — a record without key on a compacted
// topic, say — so the messages batched with it must not fail with it.

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// keylessRecord reports whether the record batches of a produce request's
// partition (uncompressed) hold a record without key.
func keylessRecord(b []byte) bool {
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil || rb.Attributes&0x7 != 0 {
			return false
		}
		recs := rb.Records
		for range rb.NumRecords {
			l, n := binary.Varint(recs)
			if n <= 0 || n+int(l) > len(recs) {
				return false
			}
			var r kmsg.Record
			if err := r.ReadFrom(recs[:n+int(l)]); err != nil {
				return false
			}
			if r.Key == nil {
				return true
			}
			recs = recs[n+int(l):]
		}
		size := 12 + int(rb.Length)
		if size > len(b) {
			break
		}
		b = b[size:]
	}
	return false
}

// refuseKeyless makes the broker answer INVALID_RECORD for every
// partition batch of topic that holds a record without key, as Kafka does
// on a compacted topic (kfake does not check).
func refuseKeyless(c *kafkatest.Cluster, topic string) {
	kf := c.Kfake
	kf.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		kf.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		bad := false
		for _, rt := range req.Topics {
			if rt.Topic != topic {
				return nil, nil, false // not mixed with other topics here
			}
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				if keylessRecord(rp.Records) {
					bad = true
					sp.ErrorCode = kerr.InvalidRecord.Code
				} else {
					// Only whole requests are refused here: one with a
					// valid partition batch beside goes to the broker.
					return nil, nil, false
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

// TestBreakInvalidRecordFailsOnlyItsMessage: ten keyed sends and one
// without key share a batch (a linger) on a topic that refuses records
// without key; the ten are written and only the keyless one fails, for
// good. Before, all eleven failed with stream.Permanent: the core
// dead-lettered (or, without dlq, dropped) ten inputs that were not at
// fault. The same through SendAsync (pipelined function outputs).
func TestBreakInvalidRecordFailsOnlyItsMessage(t *testing.T) {
	t.Parallel()
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "Send", true: "SendAsync"}[async], func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			dest := uniqueTopic(t)
			createTopic(t, c, dest, 1, nil)
			refuseKeyless(c, dest)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// A linger, so that all the sends below share one batch.
			p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "compact-out-0", Destination: dest,
				Extension: map[string]any{"batch-timeout": "200ms"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close(context.Background()) })
			var wg sync.WaitGroup
			errs := make([]error, 11)
			for i := range errs {
				env := stream.Envelope{Payload: []byte("v" + strconv.Itoa(i)), Key: []byte("k" + strconv.Itoa(i))}
				if i == len(errs)-1 {
					env.Key = nil
				}
				if async {
					wg.Add(1)
					p.(stream.AsyncProducer).SendAsync(ctx, env, func(err error) { errs[i] = err; wg.Done() })
					continue
				}
				wg.Go(func() { errs[i] = p.Send(ctx, env) })
			}
			wg.Wait()
			for i, err := range errs[:10] {
				if err != nil {
					t.Errorf("keyed send %d, batched with a keyless one: %v", i, err)
				}
			}
			if err := errs[10]; err == nil || !stream.IsPermanent(err) {
				t.Errorf("keyless send: %v; want a permanent error", err)
			}
			if end := endOffset(t, c, dest, 0); end != 10 {
				t.Errorf("the topic holds %d records, want the 10 keyed ones", end)
			}
		})
	}
}
