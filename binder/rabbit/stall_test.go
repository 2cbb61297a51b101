package rabbit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestStalledPathBoundsSends: while the path to the broker stalls (the
// socket stays open and takes no more bytes, nothing comes back), Sends
// of large messages return within about their ctx or twice the heartbeat
// (the writes' bound: a heartbeat without progress, so at most two after
// the socket last took bytes), and the binder goes on on a new connection once
// the path is back. Before, amqp091-go's write stayed blocked, holding
// the connection's writer, until the path came back (black-hole trial:
// Sends with a 3s ctx returned after the 45s stall, although the
// heartbeats had found the connection dead after ~15s).
func TestStalledPathBoundsSends(t *testing.T) {
	px := rabbittest.NewProxy(t, nil)
	b, tr := newTestBinder(t, map[string]any{"addresses": px.Addr(), "heartbeat": "1s"})
	_ = b
	dest := uniqueDest(t, "stall")
	ctx := context.Background()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "s-out-0", Destination: dest, ContentType: "application/octet-stream",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	px.Hold()
	px.Stall()
	// Enough to fill the loopback sockets' buffers.
	const sends, d = 24, 300 * time.Millisecond
	big := make([]byte, 900<<10)
	var wg sync.WaitGroup
	took := make(chan time.Duration, sends)
	for range sends {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, d)
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
		px.Release()
		px.Unstall()
		<-done
		t.Fatalf("Sends with a %s ctx still blocked 30s into the stall", d)
	}
	close(took)
	var longest time.Duration
	for x := range took {
		longest = max(longest, x)
	}
	t.Logf("the longest Send with a %s ctx took %s", d, longest.Round(time.Millisecond))
	if longest > d+2*time.Second+time.Second { // 2 × heartbeat, and slack
		t.Errorf("a Send with a %s ctx took %s while the path stalled", d, longest)
	}
	px.Release()
	px.Unstall()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := p.Send(sctx, stream.Envelope{Payload: []byte("after")}); err != nil {
		t.Fatalf("send after the stall: %v", err)
	}
}
