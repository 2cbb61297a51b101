package memory_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

func TestDescribeBinding(t *testing.T) {
	ctx := context.Background()
	b, err := memory.New(ctx, stream.BinderSettings{Name: "memory", Type: memory.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(ctx) }()
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "f-in-0", Destination: "orders", Group: "pay",
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1, DLQ: true},
		Handler:  func(context.Context, stream.Envelope) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	d := c.(stream.BindingDescriber).DescribeBinding()
	if d["queue"] != "orders.pay" || d["dlq"] != stream.DLQName("orders", "pay") {
		t.Fatalf("consumer description %v", d)
	}
}
