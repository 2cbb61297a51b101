package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// eventTypeCallback routes as the SCSt sample's MessageRoutingCallback
// does (routing-samples/message-routing-callback): by the event_type
// header, through a table; "" for a message without one, leaving it to
// the other instructions. It counts its calls.
func eventTypeCallback(calls *atomic.Int64) stream.RoutingCallback {
	table := map[string]string{"ORDER_CREATED": "orderCreated", "ORDER_PAID": "orderPaid", "ORDER_SHIPPED": "orderShipped", "GONE": "orderCancelled", "TICK": "tick", "BOTH": "orderCreated|orderPaid"}
	return func(_ context.Context, m stream.Message[[]byte]) (string, error) {
		calls.Add(1)
		switch typ := m.Headers["event_type"]; typ {
		case "":
			return "", nil
		case "PANIC":
			panic("callback panic")
		case "TRANSIENT":
			return "", errors.New("routing table unavailable")
		case "BAD":
			return "", stream.Permanent(fmt.Errorf("event_type %q is not recognized", typ))
		default:
			if !strings.Contains(string(m.Payload), "orderId") {
				return "", stream.Permanent(errors.New("the callback did not get the payload as sent"))
			}
			return table[typ], nil
		}
	}
}

// A routing callback (SCF's MessageRoutingCallback) picks each message's
// function ahead of the headers and the routing expression, and ""
// leaves a message to them.
func TestRoutingCallbackRoutes(t *testing.T) {
	var calls atomic.Int64
	r, created, paid, labels, _ := routingApp(t, stream.FunctionConfig{Routing: stream.RoutingConfig{Enabled: true}, RoutingExpression: "headers['type']"},
		stream.WithRoutingCallback(eventTypeCallback(&calls)))
	ctx := context.Background()
	send := func(payload any, kv ...string) {
		t.Helper()
		if err := r.app.Bridge().Send(ctx, "events", stream.NewMessage(payload, kv...)); err != nil {
			t.Fatal(err)
		}
	}
	send(OrderCreated{OrderID: "o-1"}, "event_type", "ORDER_CREATED")
	if e := recv(t, created); e.OrderID != "o-1" {
		t.Fatalf("created %+v", e)
	}
	send(OrderShipped{OrderID: "o-2", Carrier: "dhl"}, "event_type", "ORDER_SHIPPED")
	if s := recv(t, labels); s.Label != "dhl-o-2" {
		t.Fatalf("label %+v", s)
	}
	// The callback wins over the definition header and the expression.
	send(OrderPaid{OrderID: "o-3", Amount: 1}, "event_type", "ORDER_PAID", stream.HeaderFunctionDefinition, "orderCreated", "type", "orderCreated")
	if e := recv(t, paid); e.OrderID != "o-3" {
		t.Fatalf("paid %+v", e)
	}
	// "": the header, then the expression.
	send(OrderPaid{OrderID: "o-4", Amount: 2}, stream.HeaderFunctionDefinition, "orderPaid")
	if e := recv(t, paid); e.OrderID != "o-4" {
		t.Fatalf("definition header after the callback: paid %+v", e)
	}
	send(OrderCreated{OrderID: "o-5"}, "type", "orderCreated")
	if e := recv(t, created); e.OrderID != "o-5" {
		t.Fatalf("expression after the callback: created %+v", e)
	}
	if n := calls.Load(); n != 5 {
		t.Fatalf("the callback ran %d times for 5 messages", n)
	}
	waitStats(t, r, "functionRouter-in-0", func(s stream.BindingStats) bool { return s.Processed == 5 && s.Retried == 0 })
}

// What the callback fails with, and names that route nowhere, reach the
// router's dead letters with the reason: a Permanent error and an
// unroutable name at once, a transient error and a panic after the
// binding's attempts. Nothing is lost and the app runs on.
func TestRoutingCallbackFailures(t *testing.T) {
	var calls atomic.Int64
	r, created, _, _, dead := routingApp(t, stream.FunctionConfig{Routing: stream.RoutingConfig{Enabled: true}},
		stream.WithRoutingCallback(eventTypeCallback(&calls)))
	ctx := context.Background()
	cases := []struct {
		typ, reason string
		attempts    int64
	}{
		{"BAD", `functionRouter: routing callback: event_type "BAD" is not recognized`, 1},
		{"GONE", `routing callback: no function or consumer "orderCancelled" is registered (routable: dlq, labels, orderCreated, orderPaid, orderShipped)`, 1},
		{"TICK", `routing callback: "tick" is a supplier, which takes no input (routable: dlq, labels, orderCreated, orderPaid, orderShipped)`, 1},
		{"BOTH", `routing callback: "orderCreated|orderPaid": routing to a composition or a list is not supported`, 1},
		{"TRANSIENT", "routing callback: routing table unavailable", 3},
		{"PANIC", "functionRouter: routing callback: handler panic: callback panic", 3},
		{"", `the routing callback returned "", and no routing instruction: the message has neither`, 1},
	}
	for i, c := range cases {
		before := calls.Load()
		id := fmt.Sprintf("o-%d", i)
		out := stream.NewMessage(OrderCreated{OrderID: id})
		if c.typ != "" {
			out.Headers = out.Headers.With("event_type", c.typ)
		}
		if err := r.app.Bridge().Send(ctx, "events", out); err != nil {
			t.Fatal(err)
		}
		m := recv(t, dead)
		if reason := m.Headers[stream.HeaderExceptionMessage]; !strings.Contains(reason, c.reason) {
			t.Errorf("%s: dead letter reason %q, want it to contain %q", c.typ, reason, c.reason)
		}
		if m.Headers["event_type"] != c.typ || !strings.Contains(string(m.Payload), id) {
			t.Errorf("%s: dead letter %v %s", c.typ, m.Headers, m.Payload)
		}
		if n := calls.Load() - before; n != c.attempts {
			t.Errorf("%s: the callback ran %d times, want %d", c.typ, n, c.attempts)
		}
	}
	waitStats(t, r, "functionRouter-in-0", func(s stream.BindingStats) bool { return s.DeadLettered == int64(len(cases)) && s.Retried == 4 })
	// And routes the next message.
	if err := r.app.Bridge().Send(ctx, "events", stream.NewMessage(OrderCreated{OrderID: "after"}, "event_type", "ORDER_CREATED")); err != nil {
		t.Fatal(err)
	}
	if e := recv(t, created); e.OrderID != "after" {
		t.Fatalf("created %+v", e)
	}
}

// A routing callback that would never run is a configuration error.
func TestRoutingCallbackWithoutRouter(t *testing.T) {
	cb := stream.WithRoutingCallback(func(context.Context, stream.Message[[]byte]) (string, error) { return "a", nil })
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
	_, err := stream.NewApp(&stream.Config{Function: stream.FunctionConfig{Definition: "a"}}, fns, stream.WithBinderType(memory.Type, memory.New), cb)
	var errs stream.ConfigErrors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "stream.function.routing.enabled: a routing callback is set (WithRoutingCallback) but functionRouter is not bound: stream.function.routing.enabled is false") {
		t.Fatalf("got %v", err)
	}
	// The application's own functionRouter is bound as itself.
	stream.AddConsumer(fns, stream.RouterFunctionName, func(context.Context, string) error { return nil })
	_, err = stream.NewApp(&stream.Config{Function: stream.FunctionConfig{Definition: "functionRouter", Routing: stream.RoutingConfig{Enabled: true}}}, fns, stream.WithBinderType(memory.Type, memory.New), cb)
	if err == nil || !strings.Contains(err.Error(), "a function of the application is registered as functionRouter") {
		t.Fatalf("got %v", err)
	}
	// Bound: accepted.
	ok := stream.NewCatalog()
	stream.AddConsumer(ok, "a", func(context.Context, string) error { return nil })
	if _, err := stream.NewApp(&stream.Config{Function: stream.FunctionConfig{Routing: stream.RoutingConfig{Enabled: true}}}, ok, stream.WithBinderType(memory.Type, memory.New), cb); err != nil {
		t.Fatalf("with routing enabled: %v", err)
	}
}

// A routing callback sees the key the message arrived with (Message.Key,
// as a function's Message input does), so it can route by the Kafka
// record key; the routed function gets the key too. The callback's
// Message had no Key.
func TestRoutingCallbackSeesTheKey(t *testing.T) {
	got := make(chan stream.Message[string], 1)
	keys := make(chan string, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "byKey", func(_ context.Context, m stream.Message[string]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "functionRouter"},
		Bindings: map[string]stream.BindingConfig{"functionRouter-in-0": {Destination: "events", Group: "router"}},
	}
	r := start(t, cfg, fns, stream.WithRoutingCallback(func(_ context.Context, m stream.Message[[]byte]) (string, error) {
		keys <- string(m.Key)
		if string(m.Key) != "route-me" {
			return "", stream.Permanent(fmt.Errorf("key %q", m.Key))
		}
		return "byKey", nil
	}))
	if err := r.app.Bridge().Send(context.Background(), "events", stream.Envelope{Payload: []byte("x"), Key: []byte("route-me")}); err != nil {
		t.Fatal(err)
	}
	if k := recv(t, keys); k != "route-me" {
		t.Fatalf("the routing callback sees key %q, want route-me", k)
	}
	if m := recv(t, got); string(m.Key) != "route-me" {
		t.Fatalf("the routed consumer sees key %q, want route-me", m.Key)
	}
}
