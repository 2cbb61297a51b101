package rabbit_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestInstanceIndexListDeadLetters: a partitioned consumer with dlq and
// instance-index-list [0, 2] dead-letters the failures of both of its
// consumers (queues orders.g-0 and orders.g-2) to the one DLQ
// orders.g.dlq, as SCSt shares it among the partitions: each consumer
// binds it with its queue's name. A reader of that DLQ
// (dead-letters-of, the source streambind dlq reads too) gets them all.
func TestInstanceIndexListDeadLetters(t *testing.T) {
	vhost := rabbittest.VHost(t)
	const n = 30
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, string) error { return stream.Permanent(errors.New("fails")) })
	var (
		mu   sync.Mutex
		dead = map[string]bool{}
		all  = make(chan struct{})
	)
	want := map[string]bool{}
	for i := range n {
		if p := stream.SelectPartition(stream.PartitionHash("k-"+strconv.Itoa(i)), 3); p != 1 {
			want["m-"+strconv.Itoa(i)] = true
		}
	}
	stream.AddConsumer(fns, "dead", func(_ context.Context, m string) error {
		mu.Lock()
		defer mu.Unlock()
		if want[m] && !dead[m] {
			if dead[m] = true; len(dead) == len(want) {
				close(all)
			}
		}
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work;dead"},
		OutputBindings: "send",
		DefaultBinder:  "b",
		Binders: map[string]stream.BinderConfig{"b": {Type: rabbit.Type,
			Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{
			"send": {Destination: "orders", ContentType: "text/plain",
				Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['pk']", PartitionCount: 3}},
			"work-in-0": {Destination: "orders", Group: "g", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, Partitioned: true, InstanceCount: 3, InstanceIndexList: []int{0, 2}}},
			"dead-in-0": {ContentType: "text/plain", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	bindertest.RunApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		id := "m-" + strconv.Itoa(i)
		if !want[id] {
			continue // partition 1: no queue is bound to its key
		}
		if err := app.Bridge().Send(ctx, "send", stream.NewMessage(id, "pk", "k-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d dead letters read from orders.g.dlq", len(dead), len(want))
	}
}
