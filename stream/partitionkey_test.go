package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// The partition key selects the partition only, as in SCSt: a partitioned
// output's message key is the one the sender gave (a Message's Key, a
// kafka_messageKey header, an Envelope's Key to the bridge) or none. The
// partition-key-expression's value was sent as the key (the Kafka record
// key, RabbitMQ's and NATS's x-streambind-key, Redis's key field) when the
// message had none, which SCSt never does.
func TestPartitionKeyIsNotTheMessageKey(t *testing.T) {
	type Order struct {
		ID string `json:"id"`
	}
	out := make(chan stream.Message[Order], 8)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "plain", func(_ context.Context, o Order) (Order, error) { return o, nil })
	stream.AddFunction(fns, "keyed", func(_ context.Context, o Order) (stream.Message[Order], error) {
		return stream.Message[Order]{Payload: o, Key: []byte("given-" + o.ID)}, nil
	})
	stream.AddFunction(fns, "header", func(_ context.Context, o Order) (stream.Message[Order], error) {
		return stream.Message[Order]{Payload: o, Headers: stream.Headers{stream.HeaderMessageKey: "hk-" + o.ID}}, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { out <- m; return nil })
	parted := stream.ProducerConfig{PartitionCount: 3, PartitionKeyExpression: "payload.id"}
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "plain;keyed;header;sink"},
		OutputBindings: "direct",
		Bindings: map[string]stream.BindingConfig{
			"direct":       {Destination: "out", Producer: parted},
			"plain-in-0":   {Destination: "in-plain", Group: "g"},
			"plain-out-0":  {Destination: "out", Producer: parted},
			"keyed-in-0":   {Destination: "in-keyed", Group: "g"},
			"keyed-out-0":  {Destination: "out", Producer: parted},
			"header-in-0":  {Destination: "in-header", Group: "g"},
			"header-out-0": {Destination: "out", Producer: parted},
			"sink-in-0":    {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	ctx := context.Background()
	br := r.app.Bridge()
	byID := func(id string) string {
		t.Helper()
		e, err := br.Encode("direct", Order{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		return e.Headers[stream.HeaderPartition]
	}
	expect := func(what, id, key string) {
		t.Helper()
		m := recv(t, out)
		if m.Payload.ID != id {
			t.Fatalf("%s: got payload id %q, want %q", what, m.Payload.ID, id)
		}
		if string(m.Key) != key {
			t.Errorf("%s: message key %q, want %q (the partition key selects the partition only)", what, m.Key, key)
		}
		if p, want := m.Headers[stream.HeaderPartition], byID(id); p == "" || p != want {
			t.Errorf("%s: scst_partition %q, want %q (payload.id's)", what, p, want)
		}
	}

	// Encode: no key unless one is given.
	for _, id := range []string{"a", "b", "c"} {
		e, err := br.Encode("direct", Order{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Key) != 0 {
			t.Errorf("Encode of %q: key %q, want none", id, e.Key)
		}
	}

	send := func(dest string, v any) {
		t.Helper()
		if err := br.Send(ctx, dest, v); err != nil {
			t.Fatal(err)
		}
	}
	send("direct", Order{ID: "a"})
	expect("bridge, plain value", "a", "")
	send("direct", stream.Message[Order]{Payload: Order{ID: "b"}, Key: []byte("k-b")})
	expect("bridge, Message with a Key", "b", "k-b")
	send("in-plain", Order{ID: "c"})
	expect("function, plain value", "c", "")
	send("in-keyed", Order{ID: "d"})
	expect("function, Message with a Key", "d", "given-d")
	send("in-header", Order{ID: "e"})
	expect("function, kafka_messageKey", "e", "hk-e")

	// An Envelope's own Key still selects the partition, and is its key.
	env, err := br.Encode("direct", stream.Envelope{Payload: []byte(`{"id":"a"}`), Key: []byte("zz")})
	if err != nil {
		t.Fatal(err)
	}
	byKey, err := br.Encode("direct", Order{ID: "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if string(env.Key) != "zz" || env.Headers[stream.HeaderPartition] != byKey.Headers[stream.HeaderPartition] {
		t.Errorf("Envelope with key zz: key %q partition %s; want key zz and partition %s (the key's)",
			env.Key, env.Headers[stream.HeaderPartition], byKey.Headers[stream.HeaderPartition])
	}
}
