package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A Message input carries the key the message arrived with (SCSt's
// kafka_receivedMessageKey; the functions had no way to read it), and a
// Message output's Key is the key it is sent with, through every output
// path: a function, a composition, a source and the bridge. An output
// does not take its input's key by itself.
func TestMessageKeyInAndOut(t *testing.T) {
	seen := make(chan stream.Message[[]byte], 4)
	out := make(chan stream.Message[[]byte], 8)
	emitted := make(chan stream.Message[string], 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "rekey", func(_ context.Context, m stream.Message[[]byte]) (stream.Message[[]byte], error) {
		seen <- m
		if string(m.Payload) == "drop-key" {
			return stream.Message[[]byte]{Payload: m.Payload}, nil
		}
		return stream.Message[[]byte]{Payload: m.Payload, Key: append([]byte(string(m.Key)), "-out"...)}, nil
	})
	stream.AddFunction(fns, "upper", func(_ context.Context, m stream.Message[[]byte]) (stream.Message[[]byte], error) {
		return stream.Message[[]byte]{Payload: m.Payload, Key: []byte("composed-" + string(m.Key))}, nil
	})
	stream.AddFunction(fns, "plain", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	stream.AddFunction(fns, "tag", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		return stream.Message[string]{Payload: m.Payload, Key: []byte("t-" + string(m.Key))}, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[[]byte]) error { out <- m; return nil })
	stream.AddSource(fns, "emitter", stream.FromChannel(emitted))
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "rekey;plain|upper;tag|upper;sink;emitter"},
		OutputBindings: "direct",
		Bindings: map[string]stream.BindingConfig{
			"direct":           {Destination: "out"},
			"rekey-in-0":       {Destination: "in", Group: "g"},
			"rekey-out-0":      {Destination: "out"},
			"plainupper-in-0":  {Destination: "in2", Group: "g"},
			"plainupper-out-0": {Destination: "out"},
			"emitter-out-0":    {Destination: "out"},
			"tagupper-in-0":    {Destination: "in3", Group: "g"},
			"tagupper-out-0":   {Destination: "out"},
			"sink-in-0":        {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	ctx := context.Background()
	br := r.app.Bridge()
	expect := func(what, key string) {
		t.Helper()
		m := recv(t, out)
		if string(m.Key) != key {
			t.Fatalf("%s: output key %q, want %q (payload %q)", what, m.Key, key, m.Payload)
		}
	}

	if err := br.Send(ctx, "in", stream.Envelope{Payload: []byte("a"), Key: []byte("k1")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, seen); string(m.Key) != "k1" {
		t.Fatalf("the function's input key is %q, want k1", m.Key)
	}
	expect("function", "k1-out")

	if err := br.Send(ctx, "in", stream.Envelope{Payload: []byte("drop-key"), Key: []byte("k2")}); err != nil {
		t.Fatal(err)
	}
	recv(t, seen)
	expect("function output without a key", "")

	if err := br.Send(ctx, "in2", stream.Envelope{Payload: []byte("b"), Key: []byte("k3")}); err != nil {
		t.Fatal(err)
	}
	expect("composition", "composed-")
	// A part's Message output of another type than the next part's
	// input: converted, its key kept.
	if err := br.Send(ctx, "in3", stream.Envelope{Payload: []byte(`"s"`), Key: []byte("k4")}); err != nil {
		t.Fatal(err)
	}
	expect("composition of Messages", "composed-t-k4")

	emitted <- stream.Message[string]{Payload: "c", Key: []byte("from-source")}
	expect("source", "from-source")

	if err := br.Send(ctx, "direct", stream.Message[string]{Payload: "d", Key: []byte("from-bridge")}); err != nil {
		t.Fatal(err)
	}
	expect("bridge", "from-bridge")
	if err := br.Send(ctx, "direct", &stream.Message[string]{Payload: "e", Key: []byte("by-pointer")}); err != nil {
		t.Fatal(err)
	}
	expect("bridge, *Message", "by-pointer")
}

// On a partitioned binding the partition-key-expression selects the
// partition of a Message with a Key, and the Key stays the message key
// (as SCSt's KafkaHeaders.KEY beside a partition-key-expression): a
// function that passes its input Message on is partitioned as configured,
// not by the key the input arrived with. An Envelope's Key selects the
// partition (the bridge's low-level send).
func TestMessageKeyOnPartitionedBinding(t *testing.T) {
	type Order struct {
		Customer string `json:"customer"`
	}
	fns := stream.NewCatalog()
	cfg := &stream.Config{
		OutputBindings: "parts",
		Bindings: map[string]stream.BindingConfig{
			"parts": {Destination: "parts", Producer: stream.ProducerConfig{PartitionCount: 7, PartitionKeyExpression: "payload.customer"}},
		},
	}
	r := start(t, cfg, fns)
	br := r.app.Bridge()
	for _, k := range []string{"a", "b", "order-17", "zz"} {
		byCustomer, err := br.Encode("parts", Order{Customer: "c-1"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := br.Encode("parts", stream.Message[Order]{Payload: Order{Customer: "c-1"}, Key: []byte(k)})
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Key) != k || got.Headers[stream.HeaderPartition] != byCustomer.Headers[stream.HeaderPartition] {
			t.Errorf("Message with key %q: key %q partition %s; want the key kept and the expression's partition %s",
				k, got.Key, got.Headers[stream.HeaderPartition], byCustomer.Headers[stream.HeaderPartition])
		}
		byKey, err := br.Encode("parts", stream.Envelope{Payload: []byte(`{"customer":"c-1"}`), Key: []byte(k)})
		if err != nil {
			t.Fatal(err)
		}
		if string(byKey.Key) != k {
			t.Errorf("Envelope with key %q: key %q", k, byKey.Key)
		}
	}
}

// The same through a running function that passes its input on: the
// output's partition is the expression's, its key the input's.
func TestPassThroughKeepsConfiguredPartitioning(t *testing.T) {
	type Order struct {
		Customer string `json:"customer"`
	}
	out := make(chan stream.Message[Order], 8)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "pass", func(_ context.Context, m stream.Message[Order]) (stream.Message[Order], error) { return m, nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { out <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "pass;sink"},
		OutputBindings: "orders",
		Bindings: map[string]stream.BindingConfig{
			"orders":     {Destination: "in"},
			"pass-in-0":  {Destination: "in", Group: "g"},
			"pass-out-0": {Destination: "out", Producer: stream.ProducerConfig{PartitionCount: 7, PartitionKeyExpression: "payload.customer"}},
			"sink-in-0":  {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	br := r.app.Bridge()
	want, err := br.Encode("pass-out-0", Order{Customer: "c-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "order-17"} {
		if err := br.Send(context.Background(), "orders", stream.Envelope{Payload: []byte(`{"customer":"c-1"}`), Key: []byte(k)}); err != nil {
			t.Fatal(err)
		}
		m := recv(t, out)
		if string(m.Key) != k || m.Headers[stream.HeaderPartition] != want.Headers[stream.HeaderPartition] {
			t.Errorf("input key %q: output key %q partition %s; want key %q, partition %s (payload.customer's)",
				k, m.Key, m.Headers[stream.HeaderPartition], k, want.Headers[stream.HeaderPartition])
		}
	}
}

// An SCSt routing-expression over headers['kafka_receivedMessageKey']
// routes by the message's key (Spring Kafka's name for the key a record
// arrived with; streambind carries it as the key, not a header), and the
// message itself does not gain the header.
func TestRoutingByReceivedKey(t *testing.T) {
	r, created, paid, _, dead := routingApp(t, stream.FunctionConfig{Definition: "functionRouter",
		RoutingExpression: "headers['kafka_receivedMessageKey'] == 'p' ? 'orderPaid' : 'orderCreated'"})
	ctx := context.Background()
	for _, k := range []string{"p", "c"} {
		if err := r.app.Bridge().Send(ctx, "events", stream.Message[OrderPaid]{Payload: OrderPaid{OrderID: "o-" + k, Amount: 1}, Key: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if e := recv(t, paid); e.OrderID != "o-p" {
		t.Fatalf("routed to orderPaid: %+v", e)
	}
	if e := recv(t, created); e.OrderID != "o-c" {
		t.Fatalf("routed to orderCreated: %+v", e)
	}
	// No key: the header is null, the expression's other branch.
	if err := r.app.Bridge().Send(ctx, "events", OrderPaid{OrderID: "o-none"}); err != nil {
		t.Fatal(err)
	}
	if e := recv(t, created); e.OrderID != "o-none" {
		t.Fatalf("routed to orderCreated: %+v", e)
	}
	select {
	case m := <-dead:
		t.Fatalf("dead-lettered: %v", m.Headers)
	default:
	}
}

func TestIdempotencyKeyOfReceivedKey(t *testing.T) {
	k, err := stream.CompileIdempotencyKey(stream.IdempotencyConfig{KeyExpression: "headers['kafka_receivedMessageKey']"})
	if err != nil {
		t.Fatal(err)
	}
	h := stream.Headers{"id": "x"}
	got, err := k.Of(stream.Envelope{Headers: h, Key: []byte("order-9")})
	if err != nil || got != "order-9" {
		t.Fatalf("key %q, %v; want order-9", got, err)
	}
	if _, ok := h[stream.HeaderReceivedMessageKey]; ok || len(h) != 1 {
		t.Fatalf("the message's headers gained the key: %v", h)
	}
	// The message's key wins over a header of that name that came with
	// it, as Spring Kafka sets RECEIVED_KEY from the record's key over the
	// record's headers (and as the binder's kafka_receivedTopic and the
	// other received values win here); without a key, the header is read.
	withHeader := stream.Headers{stream.HeaderReceivedMessageKey: "hdr"}
	if got, _ := k.Of(stream.Envelope{Headers: withHeader, Key: []byte("key")}); got != "key" {
		t.Fatalf("key %q, want the message's key over the header's", got)
	}
	if withHeader[stream.HeaderReceivedMessageKey] != "hdr" || len(withHeader) != 1 {
		t.Fatalf("the message's headers changed: %v", withHeader)
	}
	if got, _ := k.Of(stream.Envelope{Headers: withHeader}); got != "hdr" {
		t.Fatalf("key %q, want the header's (the message has no key)", got)
	}
	if _, err := k.Of(stream.Envelope{Headers: h}); err == nil {
		t.Fatal("no key: want an error")
	}
}

// TestRoutingByReceivedKeyOverHeader: a routing-expression over
// headers['kafka_receivedMessageKey'] routes by the message's key when a
// header of that name came with it too (Spring Kafka's RECEIVED_KEY is
// the record's key, set over the record's headers); by the header when
// the message has no key.
func TestRoutingByReceivedKeyOverHeader(t *testing.T) {
	r, created, paid, _, dead := routingApp(t, stream.FunctionConfig{Definition: "functionRouter",
		RoutingExpression: "headers['kafka_receivedMessageKey'] == 'p' ? 'orderPaid' : 'orderCreated'"})
	ctx := context.Background()
	send := func(id string, key []byte, hdr string) {
		t.Helper()
		m := stream.Message[OrderPaid]{Payload: OrderPaid{OrderID: id, Amount: 1}, Key: key, Headers: stream.Headers{stream.HeaderReceivedMessageKey: hdr}}
		if err := r.app.Bridge().Send(ctx, "events", m); err != nil {
			t.Fatal(err)
		}
	}
	send("o-key-p", []byte("p"), "c") // the key says paid, the header created
	if e := recv(t, paid); e.OrderID != "o-key-p" {
		t.Fatalf("routed to orderPaid: %+v", e)
	}
	send("o-key-c", []byte("c"), "p")
	if e := recv(t, created); e.OrderID != "o-key-c" {
		t.Fatalf("routed to orderCreated: %+v", e)
	}
	send("o-hdr-p", nil, "p") // no key: the header
	if e := recv(t, paid); e.OrderID != "o-hdr-p" {
		t.Fatalf("routed to orderPaid: %+v", e)
	}
	select {
	case m := <-dead:
		t.Fatalf("dead-lettered: %v", m.Headers)
	default:
	}
}

// Spring Kafka's KafkaHeaders.KEY (kafka_messageKey) on a Message output
// is its key when it has no Key, on every binder, and is not sent on as a
// header (a port of MessageBuilder.setHeader(KafkaHeaders.KEY, k) lost
// its key). The function's own headers map is left as it was.
func TestKafkaMessageKeyHeaderIsTheKey(t *testing.T) {
	out := make(chan stream.Message[string], 4)
	returned := stream.Headers{stream.HeaderMessageKey: "hk-1", "x": "y"}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "keyed", func(_ context.Context, in string) (stream.Message[string], error) {
		return stream.Message[string]{Payload: in, Headers: returned}, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error { out <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "keyed;sink"},
		OutputBindings: "direct",
		Bindings: map[string]stream.BindingConfig{
			"direct":      {Destination: "out", ContentType: "text/plain"},
			"keyed-in-0":  {Destination: "in", Group: "g", ContentType: "text/plain"},
			"keyed-out-0": {Destination: "out", ContentType: "text/plain"},
			"sink-in-0":   {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	br := r.app.Bridge()
	check := func(what, key string) {
		t.Helper()
		m := recv(t, out)
		if string(m.Key) != key {
			t.Errorf("%s: key %q, want %q", what, m.Key, key)
		}
		if _, ok := m.Headers[stream.HeaderMessageKey]; ok || m.Headers["x"] != "y" && what == "function" {
			t.Errorf("%s: headers %v: want kafka_messageKey gone and the others kept", what, m.Headers)
		}
	}
	if err := br.Send(context.Background(), "in", "a"); err != nil {
		t.Fatal(err)
	}
	check("function", "hk-1")
	if returned[stream.HeaderMessageKey] != "hk-1" {
		t.Errorf("the function's headers were changed: %v", returned)
	}
	// A Key wins over the header.
	if err := br.Send(context.Background(), "direct", stream.Message[string]{Payload: "b", Key: []byte("k"), Headers: stream.Headers{stream.HeaderMessageKey: "hk-2"}}); err != nil {
		t.Fatal(err)
	}
	check("bridge, Key and header", "k")
	if err := br.Send(context.Background(), "direct", stream.Message[string]{Payload: "c", Headers: stream.Headers{stream.HeaderMessageKey: "hk-3"}}); err != nil {
		t.Fatal(err)
	}
	check("bridge, header", "hk-3")
}
