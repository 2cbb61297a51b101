package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// checkReceived fails unless r says the message was read from dest by the
// in-process binder: its destination, a sequence number and a time.
func checkReceived(t *testing.T, what string, r stream.Received, dest string) {
	t.Helper()
	if r.Destination != dest || !r.HasOffset || r.Offset < 1 || r.Timestamp.IsZero() || time.Since(r.Timestamp) > time.Minute {
		t.Fatalf("%s: Received %+v, want destination %s with an offset and a timestamp", what, r, dest)
	}
}

// A function and a consumer that take a Message from a binding of two
// destinations learn which one each message was read from (SCSt's
// kafka_receivedTopic; they had no way to tell), with the binder's offset
// and time; the function's output does not carry its input's Received;
// and in a composition a part that takes a Message after a plain value
// gets the input's, as it gets its headers.
func TestReceivedOfMessageInputs(t *testing.T) {
	fnIn := make(chan stream.Message[string], 4)
	sinkIn := make(chan stream.Message[string], 4)
	partIn := make(chan stream.Message[string], 4)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "tag", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		fnIn <- m
		return m, nil // the input Message as it came: its Received is not sent
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error { sinkIn <- m; return nil })
	stream.AddFunction(fns, "plain", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "part", func(_ context.Context, m stream.Message[string]) error { partIn <- m; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tag;sink;plain|part"},
		Bindings: map[string]stream.BindingConfig{
			"tag-in-0":       {Destination: "orders, returns", Group: "g", ContentType: "text/plain"},
			"tag-out-0":      {Destination: "tagged", ContentType: "text/plain"},
			"sink-in-0":      {Destination: "tagged", Group: "g"},
			"plainpart-in-0": {Destination: "c1,c2", Group: "g", ContentType: "text/plain"},
		},
	}
	r := start(t, cfg, fns)
	ctx := context.Background()
	for _, dest := range []string{"orders", "returns"} {
		if err := r.app.Bridge().Send(ctx, dest, stream.Message[string]{Payload: "to " + dest, Headers: stream.Headers{stream.HeaderContentType: "text/plain"}}); err != nil {
			t.Fatal(err)
		}
		m := recv(t, fnIn)
		checkReceived(t, "function input "+m.Payload, m.Received, dest)
		out := recv(t, sinkIn)
		checkReceived(t, "consumer of the function's output", out.Received, "tagged")
		if out.Received.Offset != m.Received.Offset && dest == "orders" && out.Received.Timestamp.Before(m.Received.Timestamp) {
			t.Fatalf("the output's Received is not its own: %+v", out.Received)
		}
	}
	for _, dest := range []string{"c2", "c1"} {
		if err := r.app.Bridge().Send(ctx, dest, stream.Message[string]{Payload: "p", Headers: stream.Headers{stream.HeaderContentType: "text/plain"}}); err != nil {
			t.Fatal(err)
		}
		checkReceived(t, "composition's second part", recv(t, partIn).Received, dest)
	}
}

// routedApp runs functionRouter on a binding of destinations "orders" and
// "returns" (partitioned, one instance: it reads every partition), routing
// by expr to consumers a and b. send sends to a destination through an
// output binding of two partitions, partitioned by the p header ("0" or
// "1": its hash code selects that partition).
func routedApp(t *testing.T, expr string) (send func(dest, p string), a, b chan stream.Message[string]) {
	t.Helper()
	a, b = make(chan stream.Message[string], 8), make(chan stream.Message[string], 8)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(_ context.Context, m stream.Message[string]) error { a <- m; return nil })
	stream.AddConsumer(fns, "b", func(_ context.Context, m stream.Message[string]) error { b <- m; return nil })
	byP := stream.ProducerConfig{PartitionKeyExpression: "headers['p']", PartitionCount: 2, RequiredGroups: []string{"router"}}
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "functionRouter", RoutingExpression: expr},
		OutputBindings: "toOrders;toReturns",
		Bindings: map[string]stream.BindingConfig{
			"toOrders":  {Destination: "orders", ContentType: "text/plain", Producer: byP},
			"toReturns": {Destination: "returns", ContentType: "text/plain", Producer: byP},
			"functionRouter-in-0": {Destination: "orders,returns", Group: "router", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 1, MaxAttempts: 1}},
		},
	}
	r := start(t, cfg, fns)
	send = func(dest, p string) {
		t.Helper()
		out := map[string]string{"orders": "toOrders", "returns": "toReturns"}[dest]
		if err := r.app.Bridge().Send(context.Background(), out, stream.NewMessage(dest+"/"+p, "p", p)); err != nil {
			t.Fatal(err)
		}
	}
	return send, a, b
}

// An SCSt routing-expression over kafka_receivedTopic routes by the
// destination a message was read from, in both of SpEL's forms (== and
// eq); the message's own headers do not gain it.
func TestRoutingByReceivedTopic(t *testing.T) {
	for _, expr := range []string{
		"headers['kafka_receivedTopic'] == 'orders' ? 'a' : 'b'",
		"headers.kafka_receivedTopic eq 'orders' ? 'a' : 'b'",
	} {
		t.Run(expr, func(t *testing.T) {
			send, a, b := routedApp(t, expr)
			send("returns", "0")
			send("orders", "0")
			if m := recv(t, a); m.Payload != "orders/0" {
				t.Fatalf("routed to a: %q", m.Payload)
			}
			m := recv(t, b)
			if m.Payload != "returns/0" {
				t.Fatalf("routed to b: %q", m.Payload)
			}
			if _, ok := m.Headers[stream.HeaderReceivedTopic]; ok {
				t.Fatalf("the message gained the header: %v", m.Headers)
			}
		})
	}
}

// kafka_receivedPartitionId is a number to compare with a number, as
// SCSt's Integer header (and with its text, '1').
func TestRoutingByReceivedPartition(t *testing.T) {
	for _, expr := range []string{
		"headers['kafka_receivedPartitionId'] == 1 ? 'a' : 'b'",
		"headers['kafka_receivedPartitionId'] == '1' ? 'a' : 'b'",
		"headers['kafka_receivedPartitionId'] > 0 ? 'a' : 'b'",
	} {
		t.Run(expr, func(t *testing.T) {
			send, a, b := routedApp(t, expr)
			send("orders", "0")
			send("returns", "1")
			if m := recv(t, a); m.Payload != "returns/1" || m.Received.Partition != 1 || !m.Received.HasPartition {
				t.Fatalf("routed to a: %q, %+v", m.Payload, m.Received)
			}
			if m := recv(t, b); m.Payload != "orders/0" || m.Received.Partition != 0 || !m.Received.HasPartition {
				t.Fatalf("routed to b: %q, %+v", m.Payload, m.Received)
			}
		})
	}
}

// An idempotency key-expression over kafka_receivedTopic keys a message by
// its destination too: the same id on two destinations is two messages,
// on one destination a duplicate.
func TestIdempotencyKeyOfReceivedTopic(t *testing.T) {
	got := make(chan stream.Message[string], 8)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: "orders,returns", Group: "g", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory,
					KeyExpression: "headers['kafka_receivedTopic'] + '/' + headers['id']"}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idempotency.New(app, idempotency.Config{}, idempotency.Options{}); err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	ctx := context.Background()
	for i, dest := range []string{"orders", "returns", "orders", "returns"} {
		h := stream.Headers{stream.HeaderContentType: "text/plain", stream.HeaderID: "id-1"}
		if i >= 2 {
			h[stream.HeaderID] = "id-2" // after the duplicates: tells that they were handled (skipped)
		}
		if err := r.app.Bridge().Send(ctx, dest, stream.Envelope{Payload: []byte(dest), Headers: h}); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			for _, d := range []string{"orders", "returns"} { // duplicates of both
				if err := r.app.Bridge().Send(ctx, d, stream.Envelope{Payload: []byte("dup " + d), Headers: stream.Headers{stream.HeaderContentType: "text/plain", stream.HeaderID: "id-1"}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	seen := map[string]int{}
	for range 4 {
		m := recv(t, got)
		seen[m.Headers[stream.HeaderID]+" "+m.Payload]++
	}
	want := map[string]int{"id-1 orders": 1, "id-1 returns": 1, "id-2 orders": 1, "id-2 returns": 1}
	for k, n := range want {
		if seen[k] != n {
			t.Fatalf("handled %v, want %v (a duplicate handled, or a message of the other destination skipped)", seen, want)
		}
	}
}

// The received headers of an expression come from the message's
// Received, over a header of the same name the message carries (as SCSt's
// binders set them; but amqp_receivedExchange, amqp_receivedRoutingKey and
// amqp_redelivered, where the message's own header wins), numbers and booleans compare as SCSt's Integer, Long
// and Boolean, the amqp_* names only on a RabbitMQ message, and the
// message's headers are not changed.
func TestReceivedHeadersInExpressions(t *testing.T) {
	ts := time.UnixMilli(1712345678901)
	kafka := stream.Received{Destination: "orders", Partition: 3, HasPartition: true, Offset: 42, HasOffset: true, Timestamp: ts}
	rabbit := stream.Received{Destination: "orders", Exchange: "pfx.orders", RoutingKey: "eu.orders", Queue: "pfx.orders.g", Redelivered: true}
	own := stream.Headers{stream.HeaderReceivedTopic: "forged", "id": "x"}
	for _, c := range []struct {
		expr string
		r    stream.Received
		want string
	}{
		{"headers['kafka_receivedTopic']", kafka, "orders"},
		{"headers['kafka_receivedPartitionId'] == 3 ? 'y' : 'n'", kafka, "y"},
		{"headers['kafka_receivedPartitionId'] == '3' ? 'y' : 'n'", kafka, "y"},
		{"headers['kafka_offset'] + 1", kafka, "43"},
		{"headers['kafka_offset'] >= 42 ? 'y' : 'n'", kafka, "y"},
		{"headers['kafka_receivedTimestamp']", kafka, "1712345678901"},
		{"headers['amqp_receivedRoutingKey'] ?: 'none'", kafka, "none"},
		{"headers['amqp_receivedExchange'] + ' ' + headers['amqp_receivedRoutingKey'] + ' ' + headers['amqp_consumerQueue']", rabbit, "pfx.orders eu.orders pfx.orders.g"},
		{"headers['amqp_redelivered'] == true ? 'y' : 'n'", rabbit, "y"},
		{"headers['amqp_redelivered'] ? 'y' : 'n'", rabbit, "y"},
		{"!headers['amqp_redelivered'] ? 'y' : 'n'", rabbit, "n"},
		{"headers['amqp_redelivered'] and headers['kafka_receivedTopic'] == 'orders' ? 'y' : 'n'", rabbit, "y"},
		{"headers['amqp_redelivered'] == 'true' ? 'y' : 'n'", rabbit, "y"},
		{"headers['kafka_receivedPartitionId'] ?: 'none'", rabbit, "none"},
		{"headers['kafka_receivedTopic'] + headers['id']", rabbit, "ordersx"},
		// No Received (not a received message): the message's own header.
		{"headers['kafka_receivedTopic']", stream.Received{}, "forged"},
		// A test's simulated RabbitMQ message (streamtest) may give only
		// a routing key or an exchange, no queue: it is of RabbitMQ all
		// the same (its amqp_* names were null, found by a newcomer).
		{"headers['amqp_receivedRoutingKey']", stream.Received{Destination: "orders", RoutingKey: "eu.orders"}, "eu.orders"},
		{"headers['amqp_redelivered'] ? 'y' : 'n'", stream.Received{RoutingKey: "eu.orders", Redelivered: true}, "y"},
		{"headers['amqp_receivedExchange']", stream.Received{Exchange: "orders"}, "orders"},
		// Redelivered alone is NATS's or Redis's: no amqp_redelivered.
		{"headers['amqp_redelivered'] ?: 'none'", stream.Received{Destination: "orders", Redelivered: true}, "none"},
	} {
		k, err := stream.CompileIdempotencyKey(stream.IdempotencyConfig{KeyExpression: c.expr})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		h := own.Clone()
		got, err := k.Of(stream.Envelope{Headers: h, Received: c.r})
		if err != nil || got != c.want {
			t.Errorf("%s on %+v: %q, %v; want %q", c.expr, c.r, got, err, c.want)
		}
		if len(h) != 2 || h[stream.HeaderReceivedTopic] != "forged" {
			t.Fatalf("%s: the message's headers changed: %v", c.expr, h)
		}
	}

	// A RabbitMQ message's own amqp_receivedExchange,
	// amqp_receivedRoutingKey and amqp_redelivered win over the binder's
	// values, as in Spring AMQP's inbound mapper (the message's headers
	// mapped over those three); its own amqp_consumerQueue does not (the
	// mapper adds the consumer queue last).
	ownAMQP := stream.Headers{stream.HeaderReceivedExchange: "own-x", stream.HeaderReceivedRoutingKey: "own-rk",
		stream.HeaderRedelivered: "false", stream.HeaderConsumerQueue: "own-q"}
	for expr, want := range map[string]string{
		"headers['amqp_receivedExchange'] + ' ' + headers['amqp_receivedRoutingKey']": "own-x own-rk",
		"headers['amqp_redelivered'] ? 'y' : 'n'":                                     "n",
		"headers['amqp_consumerQueue']":                                               "pfx.orders.g",
	} {
		k, err := stream.CompileIdempotencyKey(stream.IdempotencyConfig{KeyExpression: expr})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got, err := k.Of(stream.Envelope{Headers: ownAMQP.Clone(), Received: rabbit}); err != nil || got != want {
			t.Errorf("%s on a message with its own amqp_* headers: %q, %v; want %q", expr, got, err, want)
		}
	}
}
