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
