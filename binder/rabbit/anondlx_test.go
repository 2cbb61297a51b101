package rabbit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestAnonymousMissingDLXLeavesOthersAlone: an anonymous consumer whose
// DLX does not exist (none is declared for it) must not disturb the
// dead letters of the binder's other consumers. Publishing each of its
// dead letters to the missing exchange closed the dead-letter lane's
// channel, which they share, with a 404: a group's dead letters in flight
// on it were sent again, so its DLQ held duplicates (940 of 3,000 in the
// breaker's run). The consumer now checks the DLX on a channel of its
// own (a passive declare, cached dlxCheckEvery) and drops its dead letter
// without publishing when it is missing.
func TestAnonymousMissingDLXLeavesOthersAlone(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin := rabbittest.Channel(t, vhost)
	destG, destA := uniqueDest(t, "dlxgrp"), uniqueDest(t, "dlxanon")
	failing := func(context.Context, stream.Envelope) error { return errors.New("refused") }
	g, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "g-in-0", Destination: destG, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, Concurrency: 4}, Handler: failing})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop(context.Background())
	a, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "a-in-0", Destination: destA,
		Consumer:  stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, Concurrency: 4},
		Extension: map[string]any{"dead-letter-exchange": "no-such-dlx"}, Handler: failing})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	for _, c := range []stream.Consumer{g, a} {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const n = 1500
	errs := make(chan error, 2)
	for _, d := range []string{destG, destA} {
		pub := rabbittest.Channel(t, vhost)
		go func() {
			for i := range n {
				if err := pub.PublishWithContext(ctx, d, "k", false, false, amqp.Publishing{Body: []byte(fmt.Sprint(i))}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	dlq := destG + ".g.dlq"
	tick := time.NewTicker(50 * time.Millisecond) // polling the broker's queue and the counters
	defer tick.Stop()
	for {
		q, err := admin.QueueDeclarePassive(dlq, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		dropped := a.(stream.DeadLetterReporter).DeadLetterStats().Dropped
		if q.Messages >= n && dropped >= n {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("DLQ holds %d of %d, the anonymous consumer dropped %d of %d", q.Messages, n, dropped, n)
		case <-tick.C:
		}
	}
	// The group's own dead letters are all sent (the counters are
	// updated after each confirm): what the DLQ holds now is final.
	seen := map[string]bool{}
	dups := 0
	for {
		d, ok, err := admin.Get(dlq, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if seen[string(d.Body)] {
			dups++
		}
		seen[string(d.Body)] = true
	}
	if dups != 0 || len(seen) != n {
		t.Errorf("the group's DLQ holds %d distinct dead letters of %d and %d duplicates", len(seen), n, dups)
	}
}

// TestAnonymousPartitionedReceivedPartition: an anonymous consumer with
// partitioned: true gets every partition's messages (its queue is bound
// as an unpartitioned one, as SCSt's): Received gives each message's own
// partition, its scst_partition header's, as the NATS, Redis and
// in-process binders do, and none for a message without the header. It
// gave none for every message.
func TestAnonymousPartitionedReceivedPartition(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dest := uniqueDest(t, "anonpartrc")
	got := make(chan stream.Received, 3)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "a-in-0", Destination: dest,
		Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2, MaxAttempts: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			got <- m.Received
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pub := rabbittest.Channel(t, vhost)
	for _, p := range []string{"0", "1", ""} {
		h := amqp.Table{}
		key := dest
		if p != "" {
			h[stream.HeaderPartition] = p
			key = dest + "-" + p
		}
		if err := pub.PublishWithContext(ctx, dest, key, false, false, amqp.Publishing{Headers: h, Body: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []struct {
		p   int
		has bool
	}{{0, true}, {1, true}, {0, false}} {
		select {
		case rc := <-got:
			if rc.HasPartition != want.has || rc.Partition != want.p {
				t.Errorf("message %d: partition %d (set %v), want %d (set %v)", i, rc.Partition, rc.HasPartition, want.p, want.has)
			}
		case <-ctx.Done():
			t.Fatalf("message %d not received", i)
		}
	}
}
