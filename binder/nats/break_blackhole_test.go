package nats_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// bounded runs f with a context of d and fails when it returns later than
// slack after d.
func bounded(t *testing.T, what string, d, slack time.Duration, f func(context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		took := time.Since(start)
		t.Logf("%s with a %s context: %s, %v", what, d, took.Round(time.Millisecond), err)
		if took > d+slack {
			t.Errorf("%s took %s with a %s context", what, took.Round(time.Millisecond), d)
		}
		return err
	case <-time.After(d + 30*time.Second):
		t.Errorf("%s did not return within %s with a %s context", what, d+30*time.Second, d)
		return nil
	}
}

// TestBreakBlackholeBounded: while the network black-holes the binder's
// connection (the socket stays open, nothing arrives), Send, Pause, Stop
// (of a group's consumer and of an anonymous one) and Close return within
// about their context.
func TestBreakBlackholeBounded(t *testing.T) {
	t.Run("blackhole", func(t *testing.T) { testUnreachableBounded(t, false) })
	t.Run("server-gone", func(t *testing.T) { testUnreachableBounded(t, true) })
}

// testUnreachableBounded: the server is black-holed, or (gone) killed so
// that the binder reconnects meanwhile.
func testUnreachableBounded(t *testing.T, gone bool) {
	srv := natstest.Start(t, natstest.Options{})
	px := newHoleProxy(t, srv.Addr())
	base := runtime.NumGoroutine()
	b := newBinder(t, px.url(), nil)
	dest := unique(t, "hole")
	busy := make(chan struct{}, 100)
	h := func(ctx context.Context, m stream.Envelope) error {
		select {
		case busy <- struct{}{}:
		default:
		}
		if m.Headers[idHeader] == "slow" {
			<-ctx.Done() // holds its message until Stop gives up on it
			return ctx.Err()
		}
		return nil
	}
	named := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h, Consumer: stream.ConsumerConfig{Concurrency: 2}})
	paused := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g2", Handler: h})
	anon := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Handler: h})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	for i := range 20 {
		if err := p.Send(context.Background(), msg("m-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Send(context.Background(), msg("slow")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case <-busy:
		case <-time.After(10 * time.Second):
			t.Fatal("the consumers received nothing")
		}
	}
	if gone {
		srv.Stop()
		px.cut()
		waitFor(t, 5*time.Second, "the binder to notice", func() bool { return b.Health(context.Background()) != nil })
	} else {
		px.blackhole(true)
	}
	const d, slack = 200 * time.Millisecond, 400 * time.Millisecond
	if err := bounded(t, "Send", d, slack, func(ctx context.Context) error { return p.Send(ctx, msg("late")) }); err == nil {
		t.Error("Send succeeded through a black hole")
	}
	bounded(t, "Pause", d, slack, paused.Pause)
	bounded(t, "Stop (group)", d, slack, named.Stop)
	bounded(t, "Stop (anonymous)", d, slack, anon.Stop)
	bounded(t, "Start after Stop", d, slack, named.Start)
	bounded(t, "Stop (paused)", d, slack, paused.Stop)
	bounded(t, "Close", d, slack, b.Close)
	// What Close left running in the background (drains that wait for
	// their bound) ends soon after.
	px.cut()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > base+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines 15s after Close, %d before the binder:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}
