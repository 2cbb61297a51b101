package rabbit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
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

// TestStalledPathBoundsBindAndStart: while the path to the broker stalls
// (nothing comes back), a bind, a consumer's Start, a Send that opens its
// publishing channel and a Stop each return within their context (500ms:
// each waits its context out, the test being serial; 1s made it 5 s)
// with its error, and once the path is back the binder binds, starts and
// delivers. Before, amqp091-go's channel calls (channel.open,
// exchange.declare, basic.qos, ...), which take no context, held a 1s
// bind, Start or Send until the connection's heartbeat ended it (14s).
func TestStalledPathBoundsBindAndStart(t *testing.T) {
	px := rabbittest.NewProxy(t, nil)
	_, tr := newTestBinder(t, map[string]any{"addresses": px.Addr()})
	dest := uniqueDest(t, "bstall")
	ctx := context.Background()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "s-out-0", Destination: dest, ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	handler := func(_ context.Context, e stream.Envelope) error { got <- string(e.Payload); return nil }
	bound, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "b", Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	started, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "r-in-0", Destination: dest, Group: "r", Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	if err := started.Start(ctx); err != nil {
		t.Fatal(err)
	}

	unstall := stallOnce(t, px)
	const d = 500 * time.Millisecond
	bounded := func(what string, f func(context.Context) error) {
		t.Helper()
		bctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		start := time.Now()
		err := f(bctx)
		took := time.Since(start)
		t.Logf("%s: %v after %s", what, err, took.Round(time.Millisecond))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s while the path stalls: %v, want its context's deadline", what, err)
		}
		if took > d+time.Second {
			t.Errorf("%s with a %s context took %s while the path stalled", what, d, took)
		}
	}
	bounded("bind consumer", func(ctx context.Context) error {
		_, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "c-in-0", Destination: dest, Group: "c", Handler: handler})
		return err
	})
	bounded("bind producer", func(ctx context.Context) error {
		_, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "q-out-0", Destination: dest + ".other", ContentType: "application/octet-stream"})
		return err
	})
	bounded("start", bound.Start)
	bounded("send (opening its publishing channel)", func(ctx context.Context) error {
		return p.Send(ctx, stream.Envelope{Payload: []byte("stalled")})
	})
	bounded("stop", started.Stop)

	unstall()
	// The path is back: the bound consumer starts (the abandoned Start's
	// late subscription was cancelled, not left consuming) and a send
	// reaches it.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bound.Start(sctx); err != nil {
		t.Fatalf("start after the stall: %v", err)
	}
	if err := p.Send(sctx, stream.Envelope{Payload: []byte("after")}); err != nil {
		t.Fatalf("send after the stall: %v", err)
	}
	for {
		select {
		case m := <-got:
			if m == "after" {
				return
			}
		case <-sctx.Done():
			t.Fatal("the message sent after the stall never arrived")
		}
	}
}

// TestAppStartStalledConsumeBoundedByStartupTimeout: at start-up, a
// broker that takes the consumer's basic.consume and answers nothing
// more (the path back stalls) fails start-up after the binder's
// startup-timeout with a StartupTimeoutError, not after the heartbeat
// with an i/o error; once the path is back, the subscription the broker
// made meanwhile is cancelled with its channel: nothing stays subscribed,
// holding the queue's messages for a consumer nobody runs. (The App
// started inputs with its own context: Run failed after the heartbeat,
// 15s, with "consume queue ...: i/o timeout".)
func TestAppStartStalledConsumeBoundedByStartupTimeout(t *testing.T) {
	var px *rabbittest.Proxy
	var armed atomic.Bool
	armed.Store(true)
	px = rabbittest.NewProxy(t, func(typ byte, _ uint16, payload []byte) {
		// A method frame of basic.consume (class 60, method 20).
		if typ == 1 && len(payload) >= 4 && payload[0] == 0 && payload[1] == 60 && payload[2] == 0 && payload[3] == 20 && armed.CompareAndSwap(true, false) {
			px.Stall()
		}
	})
	defer px.Unstall()
	dest := uniqueDest(t, "startstall")
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	const timeout = 2 * time.Second
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "rabbit",
		Binders:       map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: map[string]any{"addresses": px.Addr()}, StartupTimeout: timeout}},
		Bindings:      map[string]stream.BindingConfig{"sink-in-0": {Destination: dest, Group: "g"}},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = app.Run(ctx)
	took := time.Since(start)
	t.Logf("Run: %v after %s", err, took.Round(time.Millisecond))
	var ste *stream.StartupTimeoutError
	if !errors.As(err, &ste) || took > timeout+4*time.Second {
		t.Fatalf("Run: %v after %s; want a StartupTimeoutError after about %s", err, took, timeout)
	}
	if armed.Load() {
		t.Fatal("the consumer never sent basic.consume: the test proves nothing")
	}

	px.Unstall()
	_, ch := rawConn(t)
	defer func() {
		// The queue and its exchange: the test binds in the default vhost.
		_, _ = ch.QueueDelete(dest+".g", false, false, false)
		_ = ch.ExchangeDelete(dest, false, false)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		q, err := ch.QueueDeclarePassive(dest+".g", true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Consumers == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s still has %d consumers after start-up failed and the path came back", dest+".g", q.Consumers)
		}
		time.Sleep(20 * time.Millisecond) // polling the broker's count
	}
}

// TestStalledPathOneChannelOpenPerLane: while the broker answers nothing,
// Sends that each have to open their lane's publishing channel and give
// up when their context ends leave the one open in flight to the next
// Send rather than start their own, and the Sends go on once the path is
// back. (Each timed-out Send left a channel.open behind: 64 senders with
// 100ms contexts used up the connection's 2,047 channel ids in 12s, and
// every Send and bind on it then failed with "channel id space
// exhausted".)
func TestStalledPathOneChannelOpenPerLane(t *testing.T) {
	var opens atomic.Int64
	px := rabbittest.NewProxy(t, func(typ byte, _ uint16, payload []byte) {
		// A method frame of channel.open (class 20, method 10).
		if typ == 1 && len(payload) >= 4 && payload[0] == 0 && payload[1] == 20 && payload[2] == 0 && payload[3] == 10 {
			opens.Add(1)
		}
	})
	_, tr := newTestBinder(t, map[string]any{"addresses": px.Addr()})
	dest := uniqueDest(t, "lanestall")
	ctx := context.Background()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "s-out-0", Destination: dest, ContentType: "application/octet-stream",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	if err != nil {
		t.Fatal(err)
	}
	unstall := stallOnce(t, px)
	before := opens.Load()
	var wg sync.WaitGroup
	var failed atomic.Int64
	// 1s: some 20 rounds of 50ms Sends by 64 senders, where each
	// timed-out Send that left its channel.open behind (the bug) would
	// add one; 2s (2,353 failed Sends, 1 channel.open) only made the
	// serial test longer.
	end := time.Now().Add(time.Second)
	for range 64 {
		wg.Go(func() {
			for time.Now().Before(end) {
				sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				if p.Send(sctx, stream.Envelope{Payload: []byte("stalled")}) != nil {
					failed.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	during := opens.Load() - before
	t.Logf("%d Sends failed during the stall; %d channel.open sent", failed.Load(), during)
	if failed.Load() == 0 {
		t.Fatal("no Send failed during the stall: the test proves nothing")
	}
	if during > 4 { // a lane or few (the publisher's pool), once each
		t.Errorf("%d channel.open sent while the broker answered nothing; want one per lane", during)
	}
	unstall()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := p.Send(sctx, stream.Envelope{Payload: []byte("after")}); err != nil {
		t.Fatalf("send after the stall: %v", err)
	}
}

// stallOnce stalls px and returns the function that ends the stall, also
// called (once in all) when the test ends.
func stallOnce(t *testing.T, px *rabbittest.Proxy) func() {
	px.Stall()
	unstall := sync.OnceFunc(px.Unstall)
	t.Cleanup(unstall)
	return unstall
}
