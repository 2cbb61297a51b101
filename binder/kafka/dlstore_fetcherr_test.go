package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersOffsetFetchPartitionError: a partition's error in the
// answer to the group's offset fetch (a broker that answers OffsetFetch
// v0/v1 reports COORDINATOR_LOAD_IN_PROGRESS there, with offset -1) fails
// the open, as the answer's own error does. It was taken as "the group
// never committed": the cursor returned the 5 dead letters removed
// already (a replay sends their copies again) and its first removal
// committed the group's position back to the log's start.
func TestDeadLettersOffsetFetchPartitionError(t *testing.T) {
	t.Parallel()
	c, b, spec, dlq := deadLetterSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	produceDeadLetters(ctx, t, c, dlq, 10)
	bd := b.(*kafka.Binder)
	// The first 5 removed: the group's committed offset is 5.
	dl, err := bd.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := dl.Remove(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if off, _ := dlqCommitted(t, c, dlq); off != 5 {
		t.Fatalf("committed %d after removing 5; want 5", off)
	}

	// The next offset fetch answers each partition with the error.
	faulted := make(chan struct{})
	c.Kfake.ControlKey(int16(kmsg.OffsetFetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.OffsetFetchRequest)
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewOffsetFetchResponseTopic()
			st.Topic = rt.Topic
			for _, p := range rt.Partitions {
				sp := kmsg.NewOffsetFetchResponseTopicPartition()
				sp.Partition, sp.Offset, sp.ErrorCode = p, -1, kerr.CoordinatorLoadInProgress.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		close(faulted)
		return resp, nil, true
	})
	dl, err = bd.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	select {
	case <-faulted:
	default:
		t.Fatal("the open fetched no offsets")
	}
	if err == nil {
		d, nerr := dl.Next(ctx)
		_ = dl.Close(ctx)
		t.Fatalf("opened with the group's offset unknown; its first dead letter %s %q (%v); want an error", d.ID, d.Envelope.Payload, nerr)
	}
	if !errors.Is(err, stream.ErrUnavailable) {
		t.Errorf("error %v; want one wrapping stream.ErrUnavailable (streambind dlq retries it)", err)
	}
	if off, _ := dlqCommitted(t, c, dlq); off != 5 {
		t.Errorf("committed %d; want 5", off)
	}
}
