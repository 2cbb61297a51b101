package rabbit

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestBatchReceiveTimeout: SCSt's consumer batching example
// (enable-batching: true, batch-size: 10, receive-timeout: 200) starts,
// and receive-timeout is what Spring AMQP makes it: a batch waits up to
// that long for each next delivery, and is handed over short of
// batch-size once none came in time. So three messages sent 100ms apart
// are one batch, handed over receive-timeout after the last. A Stop does
// not wait for a long receive-timeout. Before, receive-timeout other than
// 1000 was refused ("only SCSt's default, 1s"), and a batch was only what
// had arrived (here [m0], then the rest).
func TestBatchReceiveTimeout(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b := newLoggedBinder(t, vhost, &syncbuf.Buffer{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bind := func(t *testing.T, dest, timeout string, batches chan<- []string) (stream.Producer, stream.Consumer) {
		t.Helper()
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "rt-out-0", Destination: dest, ContentType: "text/plain",
			Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "rt-in-0", Destination: dest, Group: "g", ContentType: "text/plain",
			Consumer:  stream.ConsumerConfig{BatchMode: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
			Extension: map[string]any{"enable-batching": true, "batch-size": 10, "receive-timeout": timeout},
			BatchHandler: func(_ context.Context, ms []stream.Envelope) error {
				var got []string
				for _, m := range ms {
					got = append(got, string(m.Payload))
				}
				batches <- got
				return nil
			}})
		if err != nil {
			t.Fatalf("bind consumer with receive-timeout %s: %v", timeout, err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return p, c
	}
	send := func(t *testing.T, p stream.Producer, s string) {
		t.Helper()
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(s)}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("partial batch after the timeout", func(t *testing.T) {
		const timeout = 1500 * time.Millisecond
		batches := make(chan []string, 10)
		p, c := bind(t, "rt-partial", "1500", batches) // a bare number: milliseconds
		defer c.Stop(context.Background())
		var last time.Time
		for i := range 3 {
			if i > 0 {
				time.Sleep(100 * time.Millisecond) // the gap between sends, well inside the timeout
			}
			send(t, p, fmt.Sprint("m", i))
			last = time.Now()
		}
		select {
		case got := <-batches:
			waited := time.Since(last)
			if want := []string{"m0", "m1", "m2"}; !slices.Equal(got, want) {
				t.Fatalf("first batch %v, want %v: the batch did not wait receive-timeout for the next delivery", got, want)
			}
			// The timer runs from the last delivery, which may come a
			// little before its send's confirmation.
			if waited < timeout-300*time.Millisecond {
				t.Errorf("partial batch handed over %s after the last send, want about receive-timeout (%s)", waited, timeout)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no batch")
		}
	})

	t.Run("stop does not wait for it", func(t *testing.T) {
		batches := make(chan []string, 10)
		p, c := bind(t, "rt-stop", "1h", batches)
		send(t, p, "only")
		// The delivery reached the consumer once the queue shows it
		// unacknowledged; then the batch is waiting for more.
		deadline := time.Now().Add(20 * time.Second)
		for unacked(t, vhost, "rt-stop.g") != 1 {
			if time.Now().After(deadline) {
				t.Fatal("the delivery never reached the consumer")
			}
			time.Sleep(50 * time.Millisecond)
		}
		start := time.Now()
		sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer scancel()
		if err := c.Stop(sctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Stop took %s with a batch waiting for its next delivery (receive-timeout 1h)", d)
		}
	})
}
