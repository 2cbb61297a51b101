package rabbit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterHeldBatchCountsInFlight: a failed batch's deliveries are
// dead-lettered one after the other; while the full DLQ (reject-publish)
// refuses the first's dead letter, none of the batch is settled, so all
// of it counts in flight, each until its dead letter went, then none.
// Before, only the one being dead-lettered counted: 1.
func TestDeadLetterHeldBatchCountsInFlight(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost})
	dest := uniqueDest(t, "heldbatch")
	queue, dlq := dest+".g", dest+".g.dlq"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var holding bindertest.Holding
	var logs syncbuf.Buffer
	hs := newHeldSignal(&logs)
	sizes := make(chan int, 1)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "g", ContentType: "text/plain", Logger: slog.New(hs),
		Consumer:  stream.ConsumerConfig{BatchMode: true, DLQ: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"batch-size": 3, "dlq-max-length": 1, "dlq-overflow-behavior": "reject-publish"},
		Holding:   holding.Hold,
		BatchHandler: func(_ context.Context, ms []stream.Envelope) error {
			select {
			case sizes <- len(ms):
			default:
			}
			return errors.New("bad batch")
		}})
	if err != nil {
		t.Fatal(err)
	}
	// Start declares the queue and its DLQ; stopped again, so that the
	// three messages wait in the queue for one batch.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	ch := rabbittest.Channel(t, vhost)
	fillDLQ(t, ctx, ch, dlq)
	for i := range 3 {
		if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte(fmt.Sprintf("m%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, ch, queue, 3)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	// A batch takes the deliveries already received (up to batch-size),
	// without waiting for more: usually all three, at times two.
	var n int
	select {
	case n = <-sizes:
		if n < 2 {
			t.Skipf("the first batch has %d message, not 2 or 3 of the 3 in the queue at the start", n)
		}
	case <-ctx.Done():
		t.Fatal("the batch handler was not called")
	}
	select {
	case <-hs.held:
	case <-ctx.Done():
		t.Fatalf("no WARN that the dead letter is held:\n%s", logs.String())
	}
	if got := holding.N(); got != int64(n) {
		t.Errorf("%d deliveries counted in flight while the first dead letter of a batch of %d is held; want %d (none settled)", got, n, n)
	}
	// The DLQ takes one at a time: emptied until every dead letter went.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for holding.N() != 0 {
		if _, err := ch.QueuePurge(dlq, false); err != nil {
			t.Fatal(err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%d deliveries still counted in flight; want 0 once every dead letter went", holding.N())
		}
	}
}
