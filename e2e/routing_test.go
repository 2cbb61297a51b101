package e2e_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

type created struct {
	ID string `json:"id"`
}

type paid struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
}

type shipped struct {
	ID      string `json:"id"`
	Carrier string `json:"carrier"`
}

// SCSt's event routing on RabbitMQ, in a vhost of the test's own: three
// event types on one exchange reach three typed functions through
// functionRouter-in-0 (the configuration is SCSt's, through the config
// aliases' targets); an unroutable event lands in the group's DLQ with the
// reason.
func TestEventRoutingOnRabbit(t *testing.T) {
	t.Parallel() // its own virtual host
	vhost := rabbittest.VHost(t)
	gotCreated, gotPaid, gotLabel := make(chan created, 4), make(chan paid, 4), make(chan string, 4)
	dead := make(chan stream.Message[[]byte], 4)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "orderCreated", func(_ context.Context, e created) error { gotCreated <- e; return nil })
	stream.AddConsumer(fns, "orderPaid", func(_ context.Context, e paid) error { gotPaid <- e; return nil })
	stream.AddFunction(fns, "orderShipped", func(_ context.Context, e shipped) (string, error) { return e.Carrier + ":" + e.ID, nil })
	stream.AddConsumer(fns, "labels", func(_ context.Context, s string) error { gotLabel <- s; return nil })
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "functionRouter;labels;audit", RoutingExpression: "headers['eventType']"},
		DefaultBinder:  "rabbit",
		OutputBindings: "events",
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: rabbit.Type, Environment: map[string]any{
			"addresses": rabbittest.Address(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{
			"events":               {Destination: "events"},
			"functionRouter-in-0":  {Destination: "events", Group: "router", Consumer: stream.ConsumerConfig{MaxAttempts: 2, BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: time.Millisecond, DLQ: true}},
			"functionRouter-out-0": {Destination: "labels"},
			"labels-in-0":          {Destination: "labels", Group: "g"},
			"audit-in-0":           {Group: "audit", Consumer: stream.ConsumerConfig{DeadLettersOf: "functionRouter-in-0"}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	runApp(t, app)
	ctx := context.Background()
	for _, e := range []struct {
		typ     string
		payload any
	}{
		{"orderCreated", created{ID: "o-1"}},
		{"orderPaid", paid{ID: "o-1", Amount: 12.5}},
		{"orderShipped", shipped{ID: "o-1", Carrier: "ups"}},
		{"orderLost", created{ID: "o-1"}},
	} {
		if err := app.Bridge().Send(ctx, "events", stream.NewMessage(e.payload, "eventType", e.typ)); err != nil {
			t.Fatal(err)
		}
	}
	if e := recvWithin(t, "created", gotCreated); e.ID != "o-1" {
		t.Fatalf("created %+v", e)
	}
	if e := recvWithin(t, "paid", gotPaid); e.Amount != 12.5 {
		t.Fatalf("paid %+v", e)
	}
	if s := recvWithin(t, "label", gotLabel); s != "ups:o-1" {
		t.Fatalf("label %q", s)
	}
	m := recvWithin(t, "dead letter", dead)
	if reason := m.Headers[stream.HeaderExceptionMessage]; !strings.Contains(reason, `no function or consumer "orderLost" is registered`) {
		t.Fatalf("dead letter reason %q (headers %v)", reason, m.Headers)
	}
	if s := app.Binding("functionRouter-in-0").Stats(); s.Retried != 0 || s.DeadLettered != 1 {
		t.Fatalf("router stats %+v", s)
	}
}

func recvWithin[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}
