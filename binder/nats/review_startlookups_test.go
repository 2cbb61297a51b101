package nats_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestReviewStartNoStreamLookup: the Start of a group's consumer binding
// whose durable is the one it bound (or last ran on) does not look its
// stream up: the durable being the same, its stream was not deleted since
// (that deletes its consumers). The stream check of a Start (for a
// stream deleted while the binding was stopped) cost a request more per
// binding at start-up, the bindings being started one after the other.
// A Start after the stream was deleted still finds it gone
// (TestBreakStreamDeletedWhileStopped).
func TestReviewStartNoStreamLookup(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "start-lookups")
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var lookups atomic.Int32
	sub, err := nc.Subscribe("$JS.API.STREAM.INFO."+natsbinder.StreamName(dest), func(*natsgo.Msg) { lookups.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Handler:  func(context.Context, stream.Envelope) error { return nil },
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	for range 2 { // after the bind, and after a Stop
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		before := lookups.Load()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil { // what the binder sent has reached the server, and what it forwarded us
			t.Fatal(err)
		}
		if n := lookups.Load() - before; n != 0 {
			t.Errorf("Start looked the stream up %d times", n)
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
