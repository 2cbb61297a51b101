package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// deadLetterSetup is the setup the dead-letter store tests share: a kfake
// cluster, a binder on it (closed at cleanup), a consumer spec (group "g",
// a handler that accepts everything) on a fresh topic, and the name of
// that spec's DLQ topic (not created: each test makes it as it needs).
func deadLetterSetup(t *testing.T) (*kafkatest.Cluster, stream.Binder, stream.ConsumerSpec, string) {
	t.Helper()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
	return c, b, spec, stream.ErrorDestinationSource(spec, "").Destination
}

// produceDeadLetters creates dlq with one partition and writes n dead
// letters d0..d(n-1) to it, plainly (no transaction).
func produceDeadLetters(ctx context.Context, t *testing.T, c *kafkatest.Cluster, dlq string, n int) {
	t.Helper()
	if err := c.Kfake.CreateTopic(dlq, 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(dlq))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "d%d", i)})
	}
	err = cl.ProduceSync(ctx, recs...).FirstErr()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
}

// offsetCommitRefused answers an OffsetCommit request with code for each
// of its partitions (a kfake ControlKey answer).
func offsetCommitRefused(req kmsg.Request, code int16) kmsg.Response {
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
	return resp
}

// wantCommittedAtEnds checks that the dead-letter group stands at ends
// (partition -> end offset) on dlq's partitions 0 and 1, with nothing
// listed as removed in its commit metadata.
func wantCommittedAtEnds(t *testing.T, c *kafkatest.Cluster, dlq string, ends map[int]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := pipeClient(c).OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: kafka.DefaultDeadLetterGroup, Topics: map[string][]int{dlq: {0, 1}}})
	if err == nil {
		err = res.Error // res is nil when err is not
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	for _, p := range res.Topics[dlq] {
		if p.Error != nil || p.CommittedOffset != ends[p.Partition] || p.Metadata != "" {
			t.Errorf("partition %d: committed %d %q (%v); want %d, the end, with nothing listed", p.Partition, p.CommittedOffset, p.Metadata, p.Error, ends[p.Partition])
		}
	}
}
