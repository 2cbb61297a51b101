package kafka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// producer.partition-count without a key expression sizes the topic (as in
// SCSt) although the producer does not partition by a key.
func TestPartitionCountWithoutKeySizesTheTopic(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx := context.Background()
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest, Producer: stream.ProducerConfig{PartitionCount: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// A binder that may not add partitions finds the 3 it needs.
	b2 := newBinder(t, c, map[string]any{"auto-add-partitions": false})
	closeBinder(t, b2)
	p2, err := b2.BindProducer(ctx, stream.ProducerSpec{Binding: "y-out-0", Destination: dest,
		Producer: stream.ProducerConfig{PartitionCount: 3, PartitionKeyExpression: "key"}})
	if err != nil {
		if strings.Contains(err.Error(), "has 1 partition") {
			t.Fatalf("partition-count alone did not size the topic: %v", err)
		}
		t.Fatal(err)
	}
	_ = p2.Close(ctx)
}
