package stream_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A partition-key-expression over headers['kafka_messageKey'] (SCSt's
// KafkaHeaders.KEY, which its partition handler sees on the message)
// partitions by the message's key: a kafka_messageKey header or a
// Message's Key. The header was taken off as the message key before the
// expression ran, so every such send failed permanently ("headers['kafka_messageKey']
// is null") from the bridge, Encode and a function's output alike.
func TestPartitionKeyExpressionSeesMessageKeyHeader(t *testing.T) {
	type Order struct {
		ID string `json:"id"`
	}
	out := make(chan stream.Message[Order], 8)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "keyed", func(_ context.Context, o Order) (stream.Message[Order], error) {
		return stream.NewMessage(o, stream.HeaderMessageKey, "fk-"+o.ID), nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { out <- m; return nil })
	const parts = 5
	byHeader := stream.ProducerConfig{PartitionCount: parts, PartitionKeyExpression: "headers['kafka_messageKey']"}
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "keyed;sink"},
		OutputBindings: "direct",
		Bindings: map[string]stream.BindingConfig{
			"direct":      {Destination: "mk-out", Producer: byHeader},
			"keyed-in-0":  {Destination: "mk-in", Group: "g"},
			"keyed-out-0": {Destination: "mk-out", Producer: byHeader},
			"sink-in-0":   {Destination: "mk-out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	ctx := context.Background()
	br := r.app.Bridge()
	partOf := func(key string) string { return strconv.Itoa(stream.SelectPartition(stream.PartitionHash(key), parts)) }
	expect := func(what, key string) {
		t.Helper()
		m := recv(t, out)
		if string(m.Key) != key || m.Headers[stream.HeaderPartition] != partOf(key) {
			t.Errorf("%s: key %q, scst_partition %q; want key %q in partition %s (the key's)", what, m.Key, m.Headers[stream.HeaderPartition], key, partOf(key))
		}
		if _, ok := m.Headers[stream.HeaderMessageKey]; ok {
			t.Errorf("%s: kafka_messageKey sent on as a header", what)
		}
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := br.Send(ctx, "direct", stream.NewMessage(Order{ID: k}, stream.HeaderMessageKey, "hk-"+k)); err != nil {
			t.Fatalf("bridge, kafka_messageKey %s: %v", k, err)
		}
		expect("bridge, kafka_messageKey header", "hk-"+k)
		if err := br.Send(ctx, "direct", stream.Message[Order]{Payload: Order{ID: k}, Key: []byte("mk-" + k)}); err != nil {
			t.Fatalf("bridge, Message Key %s: %v", k, err)
		}
		expect("bridge, Message Key", "mk-"+k)
		if err := br.Send(ctx, "mk-in", Order{ID: k}); err != nil {
			t.Fatal(err)
		}
		expect("function output, kafka_messageKey header", "fk-"+k)
		e, err := br.Encode("direct", stream.NewMessage(Order{ID: k}, stream.HeaderMessageKey, "ek-"+k))
		if err != nil {
			t.Fatalf("Encode, kafka_messageKey %s: %v", k, err)
		}
		if string(e.Key) != "ek-"+k || e.Headers[stream.HeaderPartition] != partOf("ek-"+k) || e.Headers[stream.HeaderMessageKey] != "" {
			t.Errorf("Encode: key %q headers %v; want key ek-%s, scst_partition %s, no kafka_messageKey", e.Key, e.Headers, k, partOf("ek-"+k))
		}
	}
	// Without a key the expression has nothing to select by: an error, as
	// SCSt's null partition key.
	if err := br.Send(ctx, "direct", Order{ID: "x"}); err == nil {
		t.Error("a keyless send partitioned by headers['kafka_messageKey'] succeeded")
	}
}
