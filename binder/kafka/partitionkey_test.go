package kafka_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestPartitionKeyIsNotTheRecordKey (found by a porting trial): on a
// partitioned output the partition-key-expression selects the partition
// only, as in SCSt, whose Kafka record key comes from message-key-expression
// or the kafka_messageKey header (KafkaHeaders.KEY), else is null.
// streambind sent the expression's value as the record key.
func TestPartitionKeyIsNotTheRecordKey(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	const parts = 3
	parted := stream.ProducerConfig{PartitionKeyExpression: "payload.id", PartitionCount: parts}
	cfg := &stream.Config{
		OutputBindings: "bare;given;expr",
		Binders:        map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder:  "k",
		Bindings: map[string]stream.BindingConfig{
			"bare":  {Destination: "pk-bare", Producer: parted},
			"given": {Destination: "pk-given", Producer: parted},
			"expr":  {Destination: "pk-expr", Producer: parted},
		},
		Extensions: map[string]stream.ExtensionConfig{kafka.Type: {Bindings: map[string]stream.ExtensionBindingConfig{
			"expr": {Producer: map[string]any{"message-key-expression": "headers['orderId']"}},
		}}},
	}
	app := runApp(t, cfg, stream.NewCatalog(), slog.New(slog.DiscardHandler))
	ctx := context.Background()
	type order struct {
		ID string `json:"id"`
	}
	want := func(id string) int32 { return int32(stream.SelectPartition(stream.PartitionHash(id), parts)) }
	br := app.Bridge()
	for _, id := range []string{"a", "b", "c"} {
		if err := br.Send(ctx, "bare", order{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range readRaw(t, c, "pk-bare", 3) {
		if r.Key != nil {
			t.Errorf("record %s: key %q, want none (the partition key is not the record key)", r.Value, r.Key)
		}
		if id := string(r.Value[len(`{"id":"`) : len(r.Value)-2]); r.Partition != want(id) {
			t.Errorf("record %s in partition %d, want %d (payload.id's)", r.Value, r.Partition, want(id))
		}
	}
	if err := br.Send(ctx, "given", stream.Message[order]{Payload: order{ID: "a"}, Key: []byte("k-a")}); err != nil {
		t.Fatal(err)
	}
	if err := br.Send(ctx, "given", stream.NewMessage(order{ID: "b"}, stream.HeaderMessageKey, "hk-b")); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range readRaw(t, c, "pk-given", 2) {
		got[string(r.Value)] = string(r.Key)
		if id := string(r.Value[len(`{"id":"`) : len(r.Value)-2]); r.Partition != want(id) {
			t.Errorf("record %s in partition %d, want %d (payload.id's)", r.Value, r.Partition, want(id))
		}
	}
	if got[`{"id":"a"}`] != "k-a" || got[`{"id":"b"}`] != "hk-b" {
		t.Errorf("given keys: %v, want the Message's Key k-a and the kafka_messageKey hk-b", got)
	}
	if err := br.Send(ctx, "expr", stream.NewMessage(order{ID: "c"}, "orderId", "o-7")); err != nil {
		t.Fatal(err)
	}
	if r := readRaw(t, c, "pk-expr", 1)[0]; string(r.Key) != "o-7" || r.Partition != want("c") {
		t.Errorf("message-key-expression: key %q partition %d, want o-7 in %d", r.Key, r.Partition, want("c"))
	}
}
