package rabbit_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestUnroutablePartitionSaysWhy: a send to a partition of a partitioned
// destination that no queue is bound for (the consumer of partition 0
// runs, none of partition 1) fails with ErrUnroutable and an error that
// names the partition, its routing key and queue, and what to do
// (required-groups, or start the consumers of every partition). A send to
// an unpartitioned destination without a queue keeps the plain error.
func TestUnroutablePartitionSaysWhy(t *testing.T) {
	vhost := rabbittest.VHost(t)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work"},
		OutputBindings: "send;plain",
		DefaultBinder:  "b",
		Binders: map[string]stream.BinderConfig{"b": {Type: rabbit.Type,
			Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{
			"send": {Destination: "orders", ContentType: "text/plain",
				Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['pk']", PartitionCount: 2}},
			"plain": {Destination: "lonely", ContentType: "text/plain"},
			"work-in-0": {Destination: "orders", Group: "g", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 2, InstanceIndex: 0}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	bindertest.RunApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := map[int]string{}
	for i := 0; len(key) < 2; i++ {
		k := "k-" + string(rune('a'+i))
		key[stream.SelectPartition(stream.PartitionHash(k), 2)] = k
	}
	if err := app.Bridge().Send(ctx, "send", stream.NewMessage("to 0", "pk", key[0])); err != nil {
		t.Fatalf("send to partition 0 (its consumer runs): %v", err)
	}
	err = app.Bridge().Send(ctx, "send", stream.NewMessage("to 1", "pk", key[1]))
	const want = `partition 1 of "orders" has no queue bound with "orders-1": no consumer group's queue of that partition (orders.<group>-1) exists; ` +
		`the group's consumer with instance-index 1 (or 1 in its instance-index-list) declares and binds it when it starts, a producer with required-groups every partition's: ` +
		`set producer.required-groups of binding send to the consumers' group, or start the group's consumers of every partition (instance-index 0 to 1) first`
	if !errors.Is(err, rabbit.ErrUnroutable) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "auto-bind-dlq") {
		t.Errorf("send to partition 1 (no queue): %v\nwant ErrUnroutable saying %q", err, want)
	}
	err = app.Bridge().Send(ctx, "plain", stream.NewMessage("x"))
	if !errors.Is(err, rabbit.ErrUnroutable) || !strings.HasSuffix(err.Error(), rabbit.ErrUnroutable.Error()) || strings.Contains(err.Error(), "partition") {
		t.Errorf("send to an unpartitioned destination without a queue: %v, want it to end with ErrUnroutable's text", err)
	}
}
