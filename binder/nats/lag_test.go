package nats_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/stream"
)

// TestLagIsNumPending: a group's consumer reports as its lag the
// NumPending of its durable JetStream consumer (streambind_consumer_lag),
// bound and not started too, per partition's durable when partitioned,
// and 0 once it has consumed the messages; an anonymous consumer reports
// none. Without Lag the consumer is no stream.LagReporter and the metric
// has nothing on NATS.
func TestLagIsNumPending(t *testing.T) {
	b, _ := shared(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bind := func(spec stream.ConsumerSpec) stream.Consumer {
		t.Helper()
		spec.Binding = "lag-in-0"
		spec.ContentType = stream.DefaultContentType
		spec.Consumer.MaxAttempts = 1
		spec.Consumer.InstanceCount = max(spec.Consumer.InstanceCount, 1)
		c, err := b.BindConsumer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		return c
	}

	t.Run("unpartitioned", func(t *testing.T) {
		dest := unique(t, "lag")
		handled := make(chan struct{}, 16)
		c := bind(stream.ConsumerSpec{Destination: dest, Group: "g",
			Handler: func(context.Context, stream.Envelope) error { handled <- struct{}{}; return nil }})
		anon := bind(stream.ConsumerSpec{Destination: dest, Handler: func(context.Context, stream.Envelope) error { return nil }})
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
		const n = 7
		for i := range n {
			if err := p.Send(ctx, msg("m-"+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: natsbinder.StreamName(dest), Lag: n})
		if err := anon.Start(ctx); err != nil {
			t.Fatal(err)
		}
		bindertest.WaitLag(ctx, t, anon)
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for range n {
			select {
			case <-handled:
			case <-ctx.Done():
				t.Fatal("messages not handled")
			}
		}
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: natsbinder.StreamName(dest), Lag: 0})
	})

	t.Run("partitioned", func(t *testing.T) {
		dest := unique(t, "lagp")
		var cs []stream.Consumer
		for i := range 2 {
			cs = append(cs, bind(stream.ConsumerSpec{Destination: dest, Group: "g",
				Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 2, InstanceIndex: i},
				Handler:  func(context.Context, stream.Envelope) error { return nil }}))
		}
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{PartitionKeyExpression: "key", PartitionCount: 2}})
		sent := [2]int64{3, 5}
		for part, k := range sent {
			for i := range k {
				if err := p.Send(ctx, partitioned("m-"+strconv.Itoa(part)+"-"+strconv.FormatInt(i, 10), part)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, c := range cs {
			bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: natsbinder.StreamName(dest), Partition: i, Lag: sent[i]})
		}
		for i, c := range cs {
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: natsbinder.StreamName(dest), Partition: i, Lag: 0})
		}
	})
}
