package rabbit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// TestLagIsQueueReady: a group's consumer reports as its lag the ready
// messages of its queue (streambind_consumer_lag), bound and not started
// too (the queue fills meanwhile), per partition's queue when
// partitioned, and 0 once it has consumed them; an anonymous consumer
// reports its queue while it runs. Without Lag the consumer is no
// stream.LagReporter and the metric has nothing on RabbitMQ.
func TestLagIsQueueReady(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("unpartitioned", func(t *testing.T) {
		dest := uniqueDest(t, "lag")
		handled := make(chan struct{}, 16)
		c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "lag-in-0", Destination: dest, Group: "g",
			Handler: func(context.Context, stream.Envelope) error { handled <- struct{}{}; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "lag-out-0", Destination: dest})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		const n = 7
		for i := range n {
			if err := p.Send(ctx, stream.Envelope{Payload: []byte(strconv.Itoa(i))}); err != nil {
				t.Fatal(err)
			}
		}
		q := dest + ".g"
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: q, Lag: n})

		// An anonymous consumer's queue exists while it runs.
		anon, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "lag-in-1", Destination: dest,
			Handler: func(context.Context, stream.Envelope) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		bindertest.WaitLag(ctx, t, anon)
		if err := anon.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer anon.Stop(context.Background())
		bindertest.WaitLag(ctx, t, anon, stream.PartitionLag{Topic: anon.(*consumer).runningQueue(), Lag: 0})
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer c.Stop(context.Background())
		for range n {
			select {
			case <-handled:
			case <-ctx.Done():
				t.Fatal("messages not handled")
			}
		}
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: q, Lag: 0})
	})

	t.Run("partitioned", func(t *testing.T) {
		dest := uniqueDest(t, "lagp")
		var cs []stream.Consumer
		for i := range 2 {
			c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "lag-in-0", Destination: dest, Group: "g",
				Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 2, InstanceIndex: i},
				Handler:  func(context.Context, stream.Envelope) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "lag-out-0", Destination: dest,
			Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['pk']", PartitionCount: 2}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		sent := [2]int64{3, 5}
		for part, k := range sent {
			for range k {
				env := stream.Envelope{Payload: []byte("x"), Headers: map[string]string{stream.HeaderPartition: strconv.Itoa(part)}}
				if err := p.Send(ctx, env); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, c := range cs {
			bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: dest + ".g-" + strconv.Itoa(i), Partition: i, Lag: sent[i]})
		}
		for i, c := range cs {
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer c.Stop(context.Background())
			bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: dest + ".g-" + strconv.Itoa(i), Partition: i, Lag: 0})
		}
	})
}

// TestLagOfUnstartedDeadLetterReader: a dead-letter reader
// (consumer.dead-letters-of) with auto-startup false, never started,
// reports the DLQ's depth as its binding's lag: the recipe
// docs/operations.md gives for a gauge of a DLQ, through the binding
// (stream.Binding.Lag) as /metrics reads it.
func TestLagOfUnstartedDeadLetterReader(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	failed := make(chan struct{}, 8)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, s string) error { failed <- struct{}{}; return errors.New("refused " + s) })
	stream.AddConsumer(fns, "audit", func(context.Context, string) error { return nil })
	yaml := fmt.Sprintf(`stream:
  default-binder: r
  binders:
    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
  function:
    definition: work;audit
  bindings:
    work-in-0:
      destination: work
      group: g
      content-type: text/plain
      consumer:
        dlq: true
        max-attempts: 1
    audit-in-0:
      group: depth
      content-type: text/plain
      consumer:
        dead-letters-of: work-in-0
        auto-startup: false
`, rabbittest.Address(), vhost)
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	stop := bindertest.RunApp(t, app)
	defer func() { _ = stop() }()
	ch := rabbittest.Channel(t, vhost)
	const n = 3
	for i := range n {
		if err := ch.PublishWithContext(ctx, "work", "work", true, false, amqp.Publishing{ContentType: "text/plain", Body: []byte("m" + strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case <-failed:
		case <-ctx.Done():
			t.Fatal("messages not handled")
		}
	}
	bindertest.WaitLag(ctx, t, app.Binding("audit-in-0"), stream.PartitionLag{Topic: "work.g.dlq", Lag: n})
}
