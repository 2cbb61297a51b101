package memory_test

import (
	"context"
	"fmt"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// A binder used through the binder SPI, outside an App (a tool, a test, a
// bridge of your own): its settings and each binding's effective
// configuration come from the same YAML an App reads
// (stream.BinderSettingsOf, Config.Binding, Config.Extension), so the
// binder connects and binds as the App would. The same code binds a Kafka,
// RabbitMQ, NATS or Redis binder with its package's New; on those the
// producer is also a stream.AsyncProducer (SendAsync).
func Example_binderSPI() {
	ctx := context.Background()
	loaded, err := config.Load(config.Options{Env: []string{}, Data: []byte(`
stream:
  bindings:
    audit-in-0: {destination: orders, group: audit}
    orders-out-0: {destination: orders, content-type: text/plain}
`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := loaded.Stream
	b, err := memory.New(ctx, stream.BinderSettingsOf(cfg, memory.Type))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close(ctx)

	got := make(chan stream.Envelope, 1)
	in := cfg.Binding("audit-in-0")
	cext, _ := cfg.Extension(memory.Type, "audit-in-0")
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "audit-in-0", Destination: in.Destination, Group: in.Group,
		ContentType: in.ContentType, Consumer: in.Consumer, Extension: cext,
		Handler: func(_ context.Context, m stream.Envelope) error { got <- m; return nil }})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)

	out := cfg.Binding("orders-out-0")
	_, pext := cfg.Extension(memory.Type, "orders-out-0")
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "orders-out-0", Destination: out.Destination,
		ContentType: out.ContentType, Producer: out.Producer, Extension: pext})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("order o-1")}); err != nil {
		fmt.Println(err)
		return
	}
	m := <-got
	fmt.Printf("%s (%s), with an id: %t\n", m.Payload, m.Header(stream.HeaderContentType), m.Header(stream.HeaderID) != "")
	// Output: order o-1 (text/plain), with an id: true
}
