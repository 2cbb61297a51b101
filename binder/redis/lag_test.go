package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestLagIsGroupLag: a group's consumer reports as its lag XINFO GROUPS'
// lag of its group on each of its streams (streambind_consumer_lag),
// bound and not started too, per partition's stream when partitioned,
// and 0 once it has consumed the entries; an anonymous consumer reports
// none. Without Lag the consumer is no stream.LagReporter and the metric
// has nothing on Redis.
func TestLagIsGroupLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bind := func(spec stream.ConsumerSpec) stream.Consumer {
		t.Helper()
		spec.Binding = "lag-in-0"
		spec.ContentType = stream.DefaultContentType
		spec.Consumer.MaxAttempts = 1
		spec.Consumer.InstanceCount = max(spec.Consumer.InstanceCount, 1)
		spec.Logger = testLogger(t)
		c, err := b.BindConsumer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		return c
	}

	t.Run("unpartitioned", func(t *testing.T) {
		dest := "lag"
		handled := make(chan struct{}, 16)
		c := bind(stream.ConsumerSpec{Destination: dest, Group: "g",
			Handler: func(context.Context, stream.Envelope) error { handled <- struct{}{}; return nil }})
		anon := bind(stream.ConsumerSpec{Destination: dest, Handler: func(context.Context, stream.Envelope) error { return nil }})
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
		const n = 7
		send(t, p, ids("m", n))
		key := b.StreamKey(dest)
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: key, Lag: n})
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
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: key, Lag: 0})
	})

	t.Run("partitioned", func(t *testing.T) {
		dest := "lagp"
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
				m := msg("m-" + strconv.Itoa(part) + "-" + strconv.FormatInt(i, 10))
				m.Headers[stream.HeaderPartition] = strconv.Itoa(part)
				if err := p.Send(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		key := func(p int) string { return redisbinder.StreamKey(e.prefix, dest, p) }
		// Instance 0 reads the destination's own stream as well (where an
		// unpartitioned producer writes), which is empty.
		want := [][]stream.PartitionLag{
			{{Topic: key(-1), Lag: 0}, {Topic: key(0), Partition: 0, Lag: sent[0]}},
			{{Topic: key(1), Partition: 1, Lag: sent[1]}},
		}
		for i, c := range cs {
			bindertest.WaitLag(ctx, t, c, want[i]...)
		}
		for i, c := range cs {
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for j := range want[i] {
				want[i][j].Lag = 0
			}
			bindertest.WaitLag(ctx, t, c, want[i]...)
		}
	})

	// Partitions registered after the bind are read as well: while the
	// binding runs (the run's streams), and stopped (those registered).
	// Before, Lag read the streams of the bind only.
	t.Run("partitions registered after the bind", func(t *testing.T) {
		dest := "lagn"
		handled := make(chan struct{}, 16)
		c := bind(stream.ConsumerSpec{Destination: dest, Group: "g",
			Handler: func(context.Context, stream.Envelope) error { handled <- struct{}{}; return nil }})
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		key := func(p int) string { return redisbinder.StreamKey(e.prefix, dest, p) }
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: key(-1)})
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{PartitionKeyExpression: "key", PartitionCount: 2}})
		sendTo := func(part, n int) {
			t.Helper()
			for i := range n {
				m := msg("n-" + strconv.Itoa(part) + "-" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 10))
				m.Headers[stream.HeaderPartition] = strconv.Itoa(part)
				if err := p.Send(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
		sendTo(1, 2)
		for range 2 {
			select {
			case <-handled:
			case <-ctx.Done():
				t.Fatal("messages of the new partition not handled")
			}
		}
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: key(-1)}, stream.PartitionLag{Topic: key(0)}, stream.PartitionLag{Topic: key(1), Partition: 1})
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		sendTo(1, 3)
		bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: key(-1)}, stream.PartitionLag{Topic: key(0)}, stream.PartitionLag{Topic: key(1), Partition: 1, Lag: 3})
	})
}

// TestLagLeavesOutWhatRedisCannotTell: an entry deleted (XDEL) inside the
// group's unread range makes XINFO GROUPS' lag nil; the binding leaves
// that stream out (with a WARN) rather than report a guess, and reports
// it again once the group has read past the deletion.
func TestLagLeavesOutWhatRedisCannotTell(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	handled := make(chan struct{}, 16)
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "lag-in-0", Destination: "lagx", Group: "g", ContentType: stream.DefaultContentType,
		Consumer: stream.ConsumerConfig{MaxAttempts: 1, InstanceCount: 1}, Logger: testLogger(t),
		Handler: func(context.Context, stream.Envelope) error { handled <- struct{}{}; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "lagx"})
	send(t, p, ids("m", 5))
	key := b.StreamKey("lagx")
	bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: key, Lag: 5})
	rc := redistest.Client(t, redistest.Addr(), "", "")
	entries, err := rc.XRange(ctx, key, "-", "+").Result()
	if err != nil || len(entries) != 5 {
		t.Fatalf("XRANGE: %d entries, %v", len(entries), err)
	}
	if err := rc.XDel(ctx, key, entries[2].ID).Err(); err != nil {
		t.Fatal(err)
	}
	bindertest.WaitLag(ctx, t, c) // unknown: left out
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		select {
		case <-handled:
		case <-ctx.Done():
			t.Fatal("entries not handled")
		}
	}
	bindertest.WaitLag(ctx, t, c, stream.PartitionLag{Topic: key, Lag: 0})
}
