package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// Sending from ordinary code — an HTTP handler, a job — through the app's
// send bridge: to an output binding (listed in output-bindings, bound at
// start-up) or to any other destination, bound on first use.
func ExampleBridge_Send() {
	got := make(chan string)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[string]) error {
		got <- m.Payload + " (" + m.Headers.Get("source") + ")"
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "audit"},
		OutputBindings: "events",
		Bindings: map[string]stream.BindingConfig{
			"events":     {Destination: "audit-log", ContentType: "text/plain"},
			"audit-in-0": {Destination: "audit-log", Group: "auditor"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	<-app.Ready()

	// Send returns once the binder confirmed the message.
	err = app.Bridge().Send(ctx, "events", stream.NewMessage("user u-1 logged in", "source", "web"))
	fmt.Println("sent:", err, "→", <-got)
	// Not an output binding: the name is a destination, bound on first use
	// (stream.dynamic-destinations can restrict which are allowed).
	err = app.Bridge().Send(ctx, "reports", map[string]int{"logins": 1})
	fmt.Println("sent to a dynamic destination:", err)
	// An input binding's name: its destination (audit-log), through the
	// broker, as if another service had sent it.
	err = app.Bridge().Send(ctx, "audit-in-0", stream.NewMessage("user u-1 logged out", "source", "job"))
	fmt.Println("sent to an input binding:", err, "→", <-got)

	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// sent: <nil> → user u-1 logged in (web)
	// sent to a dynamic destination: <nil>
	// sent to an input binding: <nil> → user u-1 logged out (job)
	// stopped: <nil>
}

// A polled supplier: the app calls it every producer.poller.fixed-delay and
// sends what it returns; stream.Skip sends nothing this time.
func ExampleAddSupplier() {
	n := 0
	got := make(chan int)
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (int, error) {
		if n == 3 {
			return 0, stream.Skip // nothing more to send
		}
		n++
		return n, nil
	})
	stream.AddConsumer(fns, "count", func(_ context.Context, i int) error {
		got <- i
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;count"},
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0": {Destination: "ticks", Producer: stream.ProducerConfig{
				Poller: stream.PollerConfig{FixedDelay: 10 * time.Millisecond}}},
			"count-in-0": {Destination: "ticks", Group: "counter"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	fmt.Println(<-got, <-got, <-got)
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// 1 2 3
	// stopped: <nil>
}

// A polled supplier on a schedule, as SCSt's producer.poller: at the top
// of every second (a Spring cron expression; in YAML,
// producer.poller.cron: "* * * * * *"), a poll drains up to
// max-messages-per-poll pending orders and ends early when the supplier
// returns nil (SCSt's null).
func ExampleAddSupplier_poller() {
	pending := []string{"o-1", "o-2", "o-3"}
	got := make(chan string)
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "pendingOrders", func(context.Context) (*string, error) {
		if len(pending) == 0 {
			return nil, nil // nothing now: this poll ends
		}
		next := pending[0]
		pending = pending[1:]
		return &next, nil
	})
	stream.AddConsumer(fns, "ship", func(_ context.Context, id string) error {
		got <- id
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "pendingOrders;ship"},
		Bindings: map[string]stream.BindingConfig{
			"pendingOrders-out-0": {Destination: "orders", ContentType: "text/plain", Producer: stream.ProducerConfig{
				Poller: stream.PollerConfig{Cron: "* * * * * *", MaxMessagesPerPoll: 10}}},
			"ship-in-0": {Destination: "orders", Group: "shipping"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	fmt.Println(<-got, <-got, <-got)
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// o-1 o-2 o-3
	// stopped: <nil>
}

// An event-driven supplier: every value received on a channel is sent to
// <name>-out-0, and re-sent until the broker confirmed it.
func ExampleFromChannel() {
	placed := make(chan string)
	got := make(chan string)
	fns := stream.NewCatalog()
	stream.AddSource(fns, "placeOrder", stream.FromChannel(placed))
	stream.AddConsumer(fns, "ship", func(_ context.Context, id string) error {
		got <- id
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "placeOrder;ship"},
		Bindings: map[string]stream.BindingConfig{
			"placeOrder-out-0": {Destination: "orders"},
			"ship-in-0":        {Destination: "orders", Group: "shipping"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	<-app.Ready()
	placed <- "o-1"
	placed <- "o-2"
	fmt.Println(<-got, <-got)
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// o-1 o-2
	// stopped: <nil>
}

// A function that reads and writes headers takes and returns
// stream.Message[T]; headers it does not copy are not passed on.
func ExampleMessage() {
	type Order struct {
		ID string `json:"id"`
	}
	got := make(chan stream.Message[Order])
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "route", func(_ context.Context, m stream.Message[Order]) (stream.Message[Order], error) {
		region := strings.ToUpper(m.Headers.Get("region"))
		return stream.NewMessage(m.Payload, "region", region, "routed-by", "route"), nil
	})
	stream.AddConsumer(fns, "print", func(_ context.Context, m stream.Message[Order]) error {
		got <- m
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "route;print"},
		OutputBindings: "in",
		Bindings: map[string]stream.BindingConfig{
			"in":          {Destination: "orders"},
			"route-in-0":  {Destination: "orders", Group: "router"},
			"route-out-0": {Destination: "routed"},
			"print-in-0":  {Destination: "routed", Group: "printer"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	<-app.Ready()
	_ = app.Bridge().Send(ctx, "in", stream.NewMessage(Order{ID: "o-1"}, "region", "eu", "secret", "s3cr3t"))
	m := <-got
	fmt.Println(m.Payload.ID, m.Headers.Get("region"), m.Headers.Get("routed-by"), m.Headers.Get("secret") == "")
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// o-1 EU route true
	// stopped: <nil>
}

// An error wrapped with Permanent is not retried: with dlq on, the message
// goes to the dead-letter destination (error.<destination>.<group> on the
// in-process binder and Kafka) at once, with the reason in the SCSt
// x-exception-* headers. Any other error is retried max-attempts times
// first.
func ExamplePermanent() {
	errNoStock := errors.New("no stock")
	attempts := 0
	dead := make(chan stream.Message[[]byte])
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "reserve", func(_ context.Context, sku string) error {
		attempts++
		return stream.Permanent(fmt.Errorf("reserve %s: %w", sku, errNoStock))
	})
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[[]byte]) error {
		dead <- m
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "reserve;audit"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out": {Destination: "orders", ContentType: "text/plain"},
			"reserve-in-0": {Destination: "orders", Group: "inventory", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{MaxAttempts: 5, DLQ: true}},
			"audit-in-0": {Destination: stream.DLQName("orders", "inventory"), Group: "audit"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- app.Run(ctx) }()
	<-app.Ready()
	_ = app.Bridge().Send(ctx, "orders-out", "widget")
	m := <-dead
	fmt.Println(string(m.Payload), "after", attempts, "attempt:", m.Headers.Get("x-exception-message"))
	cancel()
	fmt.Println("stopped:", <-stopped)
	// Output:
	// widget after 1 attempt: reserve widget: no stock
	// stopped: <nil>
}
