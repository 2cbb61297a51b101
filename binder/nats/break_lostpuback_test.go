package nats_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakLostPubAcksDoNotStallSends: PubAcks that never come must not
// pile up. A publish that no stream answers and no "no responders" status
// ends either (here: the stream is deleted and a plain subscriber takes
// its subject; in a cluster, a publish lost in a leader change) leaves its
// future in nats.go's table of pending acknowledgements after the send
// gave up at its send-timeout. At 4,096 of them (the binder's limit) every
// later send stalled and failed ("too many stalled") until the connection
// was lost, though the stream was back. Each future is now given up after
// twice the longest send-timeout of the connection's producers.
func TestBreakLostPubAcksDoNotStallSends(t *testing.T) {
	t.Parallel() // waits out send timeouts: runs beside the others
	url := natstest.URL()
	b := newBinder(t, url, nil) // its own connection: the pending table is this test's
	closeBinder(t, b)
	tb := tracked{b, newStreams(t, url)}
	dest := unique(t, "lost-pubacks")
	p := bindProducer(t, tb, stream.ProducerSpec{Destination: dest,
		Extension: map[string]any{"send-timeout": "100ms", "send-attempts": 1}})
	ctx := context.Background()
	if err := p.Send(ctx, msg("first")); err != nil {
		t.Fatal(err)
	}

	deleteStream(t, dest)
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.Subscribe(dest, func(*natsgo.Msg) {}) // takes the publishes, answers none
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	const lost, senders = 4200, 300
	var failed atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for range senders {
		wg.Go(func() {
			for i := range next {
				if p.Send(ctx, msg("lost-"+strconv.Itoa(i))) != nil {
					failed.Add(1)
				}
			}
		})
	}
	for i := range lost {
		next <- i
	}
	close(next)
	wg.Wait()
	if failed.Load() != lost {
		t.Fatalf("%d of %d sends without a PubAck failed, want all", failed.Load(), lost)
	}

	// The stream is back (made by another binding of the destination: the
	// producer makes it itself only on "no responders", which nats.go
	// reports after its own retries, later than this send-timeout). Sends
	// must work from then on.
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	other := newBinder(t, url, nil)
	closeBinder(t, other)
	bindProducer(t, other, stream.ProducerSpec{Destination: dest})
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for ok := 0; ok < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("sends still fail 15s after the stream was back: %v", last)
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = p.Send(sctx, msg("after"))
		cancel()
		if last == nil {
			ok++
		} else if !errors.Is(last, context.DeadlineExceeded) {
			select {
			case <-time.After(50 * time.Millisecond): // a failed send ends at once: do not spin
			case <-ctx.Done():
			}
		}
	}
}
