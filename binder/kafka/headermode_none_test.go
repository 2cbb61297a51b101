package kafka_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// javaHashCode is Java's String.hashCode of an ASCII s, SCSt's default
// partition selection (abs(hashCode % partition-count)).
func javaHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		h = 31*h + r
	}
	return h
}

// readRaw reads n records of topic from its start with franz-go, as a
// client that is not streambind sees them (every header the record
// carries).
func readRaw(t *testing.T, c *kafkatest.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%s: read %d of %d records: %v", topic, len(out), n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("%s: fetch: %v", topic, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// TestProducerHeaderModeNoneWritesNoHeaders: under producer.header-mode
// none the records carry no headers at all, not even the contentType and
// id the binder adds otherwise, as SCSt's Kafka binder (it sends without a
// header mapper when the header mode is not "headers"); partitioning by
// the payload still selects the partition, and message-key-expression
// still sees the message's headers. The same message on a binding
// of the default header mode carries them (the raw reader sees headers).
// Before, a header-mode none record carried contentType and id, and a
// message-key-expression on headers found none (the record had no key).
func TestProducerHeaderModeNoneWritesNoHeaders(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	const parts = 3
	cfg := &stream.Config{
		OutputBindings: "bare;plain;keyed",
		Binders:        map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder:  "k",
		Bindings: map[string]stream.BindingConfig{
			"bare": {Destination: "hm-none", ContentType: "application/json", Producer: stream.ProducerConfig{
				HeaderMode: stream.HeaderModeNone, PartitionKeyExpression: "payload.customer", PartitionCount: parts}},
			"plain": {Destination: "hm-headers", ContentType: "application/json"},
			"keyed": {Destination: "hm-keyed", ContentType: "application/json", Producer: stream.ProducerConfig{HeaderMode: stream.HeaderModeNone}},
		},
		Extensions: map[string]stream.ExtensionConfig{kafka.Type: {Bindings: map[string]stream.ExtensionBindingConfig{
			"keyed": {Producer: map[string]any{"message-key-expression": "headers['orderId']"}},
		}}},
	}
	app := runApp(t, cfg, stream.NewCatalog(), slog.New(slog.DiscardHandler))
	ctx := context.Background()
	type order struct {
		Customer string `json:"customer"`
	}
	customers := []string{"c1", "c2", "c7", "acme"}
	for _, cu := range customers {
		msg := stream.NewMessage(order{Customer: cu}, "x-tenant", "t1")
		if err := app.Bridge().Send(ctx, "bare", msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Bridge().Send(ctx, "plain", stream.NewMessage(order{Customer: "c1"}, "x-tenant", "t1")); err != nil {
		t.Fatal(err)
	}

	want := map[string]int32{}
	for _, cu := range customers {
		p := javaHashCode(cu) % parts
		if p < 0 {
			p = -p
		}
		want[`{"customer":"`+cu+`"}`] = p
	}
	for _, r := range readRaw(t, c, "hm-none", len(customers)) {
		if len(r.Headers) != 0 {
			var keys []string
			for _, h := range r.Headers {
				keys = append(keys, h.Key+"="+string(h.Value))
			}
			t.Errorf("header-mode none: record %s carries headers %v, want none", r.Value, keys)
		}
		if p, ok := want[string(r.Value)]; !ok {
			t.Errorf("unexpected record %s", r.Value)
		} else if r.Partition != p {
			t.Errorf("record %s in partition %d, want %d (partition-key-expression payload.customer)", r.Value, r.Partition, p)
		}
	}
	// message-key-expression sees the message's headers, as SCSt
	// evaluates it on the whole message whatever the header mode.
	if err := app.Bridge().Send(ctx, "keyed", stream.NewMessage(order{Customer: "c1"}, "orderId", "o-42")); err != nil {
		t.Fatal(err)
	}
	keyed := readRaw(t, c, "hm-keyed", 1)[0]
	if string(keyed.Key) != "o-42" || len(keyed.Headers) != 0 {
		t.Errorf("header-mode none with message-key-expression headers['orderId']: key %q, %d headers; want key o-42 and no headers", keyed.Key, len(keyed.Headers))
	}
	plain := readRaw(t, c, "hm-headers", 1)[0]
	got := map[string]string{}
	for _, h := range plain.Headers {
		got[h.Key] = string(h.Value)
	}
	if got[stream.HeaderContentType] != "application/json" || got[stream.HeaderID] == "" || got["x-tenant"] != "t1" {
		t.Errorf("header-mode headers (default): record headers %v, want contentType, id and x-tenant", got)
	}
}
