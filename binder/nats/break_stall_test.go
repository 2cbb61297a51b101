package nats_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakStallBounded: while the path to the server stalls (the socket
// stays open and takes no more bytes: the client's writes block), Sends
// return within about their ctx or ping-interval × max-pings-outstanding
// (at least 5s: the bound is on a whole write, see minFlusherTimeout),
// and the binder reconnects once the path is back. Before, nats.go held
// the connection's lock in the blocked write for its FlusherTimeout (a
// minute): every Send, whatever its ctx, and the pings waited that long,
// and readiness stayed up (black-hole trial: Sends with a 3s ctx took 60s).
func TestBreakStallBounded(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	px := newHoleProxy(t, srv.Addr())
	b := newBinder(t, px.url(), map[string]any{"ping-interval": "500ms", "max-pings-outstanding": 2}) // 1s: the write bound is 5s
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	dest := unique(t, "stall")
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(context.Background(), msg("before")); err != nil {
		t.Fatal(err)
	}
	px.stall(true)
	// Enough to fill the loopback sockets' buffers both ways.
	const sends, d = 24, 300 * time.Millisecond
	big := make([]byte, 900<<10)
	var wg sync.WaitGroup
	took := make(chan time.Duration, sends)
	for range sends {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			start := time.Now()
			_ = p.Send(ctx, stream.Envelope{Payload: big})
			took <- time.Since(start)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		px.stall(false)
		t.Fatalf("Sends with a %s ctx still blocked 30s into the stall", d)
	}
	close(took)
	var longest time.Duration
	for x := range took {
		longest = max(longest, x)
	}
	t.Logf("the longest Send with a %s ctx took %s", d, longest.Round(time.Millisecond))
	// The write bound: 5s (ping-interval × max-pings-outstanding is 1s).
	if longest > d+5*time.Second+1500*time.Millisecond {
		t.Errorf("a Send with a %s ctx took %s while the path stalled", d, longest)
	}
	px.stall(false)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.Send(ctx, msg("after")); err != nil {
		t.Fatalf("send after the stall: %v", err)
	}
}
