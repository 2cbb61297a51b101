package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

type OrderCreated struct {
	OrderID string `json:"orderId"`
}

type OrderPaid struct {
	OrderID string  `json:"orderId"`
	Amount  float64 `json:"amount"`
}

type OrderShipped struct {
	OrderID string `json:"orderId"`
	Carrier string `json:"carrier"`
}

type Shipment struct {
	OrderID string `json:"orderId"`
	Label   string `json:"label"`
}

// routingApp binds functionRouter on "events" (group router, dlq) with two
// typed consumers and a typed function among the routing targets, the
// function's results read from "labels", and a reader of the DLQ.
func routingApp(t *testing.T, fc stream.FunctionConfig, opts ...stream.Option) (r *running, created chan OrderCreated, paid chan OrderPaid, labels chan Shipment, dead chan stream.Message[[]byte]) {
	t.Helper()
	created, paid = make(chan OrderCreated, 10), make(chan OrderPaid, 10)
	labels, dead = make(chan Shipment, 10), make(chan stream.Message[[]byte], 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "orderCreated", func(_ context.Context, e OrderCreated) error { created <- e; return nil })
	stream.AddConsumer(fns, "orderPaid", func(_ context.Context, e OrderPaid) error { paid <- e; return nil })
	stream.AddFunction(fns, "orderShipped", func(_ context.Context, e OrderShipped) (Shipment, error) {
		return Shipment{OrderID: e.OrderID, Label: e.Carrier + "-" + e.OrderID}, nil
	})
	stream.AddConsumer(fns, "labels", func(_ context.Context, s Shipment) error { labels <- s; return nil })
	stream.AddConsumer(fns, "dlq", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	// Registered, not bound, not routable.
	stream.AddSupplier(fns, "tick", func(context.Context) (string, error) { return "", stream.Skip })
	cc := fastRetry(3)
	cc.DLQ = true
	fc.Definition = "labels;dlq;" + fc.Definition
	cfg := &stream.Config{
		Function:       fc,
		OutputBindings: "events",
		Bindings: map[string]stream.BindingConfig{
			"events":               {Destination: "events"},
			"functionRouter-in-0":  {Destination: "events", Group: "router", Consumer: cc},
			"functionRouter-out-0": {Destination: "labels"},
			"labels-in-0":          {Destination: "labels", Group: "g"},
			"dlq-in-0":             {Destination: stream.DLQName("events", "router"), Group: "reader"},
		},
	}
	return start(t, cfg, fns, opts...), created, paid, labels, dead
}

// Three event types on one destination reach three typed functions, as
// SCSt's RoutingFunction routes them; an event naming no function is
// dead-lettered with the reason.
func TestRoutingByExpression(t *testing.T) {
	r, created, paid, labels, dead := routingApp(t, stream.FunctionConfig{Definition: "functionRouter", RoutingExpression: "headers['type']"})
	ctx := context.Background()
	send := func(typ string, payload any) {
		t.Helper()
		if err := r.app.Bridge().Send(ctx, "events", stream.NewMessage(payload, "type", typ)); err != nil {
			t.Fatal(err)
		}
	}
	send("orderCreated", OrderCreated{OrderID: "o-1"})
	send("orderPaid", OrderPaid{OrderID: "o-1", Amount: 9.5})
	send("orderShipped", OrderShipped{OrderID: "o-1", Carrier: "dhl"})
	send("orderCancelled", map[string]string{"orderId": "o-1"})
	if e := recv(t, created); e.OrderID != "o-1" {
		t.Fatalf("created %+v", e)
	}
	if e := recv(t, paid); e.OrderID != "o-1" || e.Amount != 9.5 {
		t.Fatalf("paid %+v", e)
	}
	if s := recv(t, labels); s.Label != "dhl-o-1" {
		t.Fatalf("label %+v", s)
	}
	m := recv(t, dead)
	reason := m.Headers[stream.HeaderExceptionMessage]
	if !strings.Contains(reason, `no function or consumer "orderCancelled" is registered`) || !strings.Contains(reason, "routable: dlq, labels, orderCreated, orderPaid, orderShipped") {
		t.Fatalf("dead letter reason %q", reason)
	}
	if m.Headers["type"] != "orderCancelled" || !strings.Contains(string(m.Payload), "o-1") {
		t.Fatalf("dead letter %v %s", m.Headers, m.Payload)
	}
	// Permanent: not retried.
	waitStats(t, r, "functionRouter-in-0", func(s stream.BindingStats) bool {
		return s.Retried == 0 && s.DeadLettered == 1 && s.Processed == 3
	})
}

// The spring.cloud.function.definition header wins over the expression,
// a routing-expression header over the property; a payload expression
// reads the JSON payload; routing-expression alone binds the router.
func TestRoutingInstructionsAndPrecedence(t *testing.T) {
	r, created, paid, _, dead := routingApp(t, stream.FunctionConfig{RoutingExpression: "payload.amount != null ? 'orderPaid' : 'orderCreated'"})
	ctx := context.Background()
	send := func(payload any, kv ...string) {
		t.Helper()
		if err := r.app.Bridge().Send(ctx, "events", stream.NewMessage(payload, kv...)); err != nil {
			t.Fatal(err)
		}
	}
	send(map[string]any{"orderId": "a"})
	if e := recv(t, created); e.OrderID != "a" {
		t.Fatalf("created %+v", e)
	}
	send(map[string]any{"orderId": "b", "amount": 2})
	if e := recv(t, paid); e.OrderID != "b" {
		t.Fatalf("paid %+v", e)
	}
	send(map[string]any{"orderId": "c", "amount": 2}, stream.HeaderFunctionDefinition, "orderCreated")
	if e := recv(t, created); e.OrderID != "c" {
		t.Fatalf("definition header: created %+v", e)
	}
	send(map[string]any{"orderId": "d"}, stream.HeaderRoutingExpression, "'order' + 'Paid'")
	if e := recv(t, paid); e.OrderID != "d" {
		t.Fatalf("expression header: paid %+v", e)
	}
	// A header expression outside the subset is the message's fault.
	send(map[string]any{"orderId": "e"}, stream.HeaderRoutingExpression, "T(java.lang.Runtime).getRuntime()")
	m := recv(t, dead)
	if reason := m.Headers[stream.HeaderExceptionMessage]; !strings.Contains(reason, "header spring.cloud.function.routing-expression") || !strings.Contains(reason, "type reference T(...) is not supported") {
		t.Fatalf("dead letter reason %q", reason)
	}
}

func TestRoutingWithoutInstructionIsDeadLettered(t *testing.T) {
	r, _, _, _, dead := routingApp(t, stream.FunctionConfig{Routing: stream.RoutingConfig{Enabled: true}})
	if err := r.app.Bridge().Send(context.Background(), "events", OrderCreated{OrderID: "x"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, dead)
	if reason := m.Headers[stream.HeaderExceptionMessage]; !strings.Contains(reason, "no routing instruction") {
		t.Fatalf("dead letter reason %q", reason)
	}
}

func TestRoutingConfigErrors(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
	cases := []struct {
		fc   stream.FunctionConfig
		want string
	}{
		{stream.FunctionConfig{Definition: "functionRouter", RoutingExpression: "headers['type'].toUpperCase()"},
			`stream.function.routing-expression: expression "headers['type'].toUpperCase()": method toUpperCase() is not supported`},
		{stream.FunctionConfig{Definition: "a|functionRouter"}, `stream.function.definition: "a|functionRouter": functionRouter cannot be composed`},
		{stream.FunctionConfig{Definition: "functionRouter;missing"}, `function "missing" is not registered`},
	}
	for _, c := range cases {
		_, err := stream.NewApp(&stream.Config{Function: c.fc}, fns, stream.WithBinderType(memory.Type, memory.New))
		var errs stream.ConfigErrors
		if !errors.As(err, &errs) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.fc, err, c.want)
		}
	}
	// Only suppliers: nothing to route to.
	sup := stream.NewCatalog()
	stream.AddSupplier(sup, "tick", func(context.Context) (string, error) { return "", stream.Skip })
	_, err := stream.NewApp(&stream.Config{Function: stream.FunctionConfig{Definition: "tick;functionRouter"}}, sup, stream.WithBinderType(memory.Type, memory.New))
	if err == nil || !strings.Contains(err.Error(), "functionRouter has nothing to route to") {
		t.Fatalf("got %v", err)
	}
	// A catalog of consumers only: no functionRouter-out-0.
	app, err := stream.NewApp(&stream.Config{Function: stream.FunctionConfig{Definition: "functionRouter"}}, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	if app.Binding("functionRouter-in-0") == nil || app.Binding("functionRouter-out-0") != nil {
		t.Fatalf("bindings %v", app.Bindings())
	}
}
