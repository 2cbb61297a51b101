package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersBatchCommitRetried: a batched replay whose removal meets
// the group's coordinator moving (NOT_COORDINATOR, COORDINATOR_LOAD_IN_
// PROGRESS) or its connection cut, once, removes every dead letter: the
// commit is retried as a fetch is. It failed the batch's removal at once,
// and the replay stopped with 128 copies sent whose dead letters the
// next replay sent again.
func TestDeadLettersBatchCommitRetried(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"not-coordinator", "load-in-progress", "cut"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			dest := uniqueTopic(t)
			spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
			dlq := stream.ErrorDestinationSource(spec, "").Destination
			if err := c.Kfake.CreateTopic(dlq, 1, nil); err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(dlq))
			if err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for i := range 500 {
				recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "d%d", i)})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			err = cl.ProduceSync(ctx, recs...).FirstErr()
			cl.Close()
			if err != nil {
				t.Fatal(err)
			}
			// The second batch's commit meets the fault, once.
			commits := 0
			c.Kfake.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.Kfake.KeepControl()
				if commits++; commits != 2 {
					return nil, nil, false
				}
				if fault == "cut" {
					return nil, errors.New("connection cut"), true
				}
				code := kerr.NotCoordinator.Code
				if fault == "load-in-progress" {
					code = kerr.CoordinatorLoadInProgress.Code
				}
				r := req.(*kmsg.OffsetCommitRequest)
				resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
				for _, rt := range r.Topics {
					st := kmsg.NewOffsetCommitResponseTopic()
					st.Topic = rt.Topic
					for _, rp := range rt.Partitions {
						sp := kmsg.NewOffsetCommitResponseTopicPartition()
						sp.Partition, sp.ErrorCode = rp.Partition, code
						st.Partitions = append(st.Partitions, sp)
					}
					resp.Topics = append(resp.Topics, st)
				}
				return resp, nil, true
			})
			read, removed, failed := batchReplay(t, b, spec, 128, func(stream.DeadLetter) bool { return true })
			if failed != nil || removed != 500 || len(read) != 500 {
				var first error
				if failed != nil {
					first = failed[0]
				}
				t.Fatalf("read %d, removed %d (%d failed, the first: %v); want 500, 500", len(read), removed, len(failed), first)
			}
			if off, meta := dlqCommitted(t, c, dlq); off != 500 || meta != "" {
				t.Errorf("committed %d %q; want 500, nothing listed", off, meta)
			}
		})
	}
}
