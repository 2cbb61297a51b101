package redis_test

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// holeProxy is a loopback TCP proxy to the shared server that the test
// can turn into a black hole: once frozen, it forwards nothing either way
// and answers nothing (connections stay open, as with a server that hangs
// or a network that drops packets), new connections included.
type holeProxy struct {
	ln     net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newHoleProxy(t *testing.T) *holeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holeProxy{ln: ln}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *holeProxy) addr() string { return p.ln.Addr().String() }

func (p *holeProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		if p.frozen.Load() {
			continue // accepted, never answered
		}
		up, err := net.Dial("tcp", redistest.Addr())
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, up)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

// pipe copies from src to dst until either closes; frozen, it reads and
// drops.
func (p *holeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = dst.Close()
			}
			return
		}
	}
}

func (p *holeProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// TestBreakBlackHoleBounded: with Redis black-holed (a proxy of the test's
// own that stops forwarding), Pause, Stop, a producer's Close and the
// binder's Close, each with a 200ms ctx, return within about their ctx,
// and so does a Send; none waits out command-timeout (5s by default).
func TestBreakBlackHoleBounded(t *testing.T) {
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name})
	got := make(chan string, 100)
	cons := bindConsumer(t, b, stream.ConsumerSpec{Destination: "hole", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got <- m.Headers[idHeader]; return nil }})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "hole"})
	send(t, p, []string{"a", "b"})
	for range 2 {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no message received before the black hole")
		}
	}
	time.Sleep(50 * time.Millisecond) // intake back in its blocking read
	px.frozen.Store(true)

	const budget = 200 * time.Millisecond
	const slack = 400 * time.Millisecond
	timed := func(what string, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		start := time.Now()
		err := f(ctx)
		took := time.Since(start)
		t.Logf("%s: %v (err %v)", what, took, err)
		if took > budget+slack {
			t.Errorf("%s with a %v ctx took %v with Redis black-holed", what, budget, took)
		}
	}
	timed("Send", func(ctx context.Context) error { return p.Send(ctx, msg("c")) })
	timed("Pause", cons.Pause)
	timed("Resume", cons.Resume)
	timed("Stop", cons.Stop)
	timed("Start", cons.Start)
	timed("Stop again", cons.Stop)
	timed("producer Close", p.Close)
	timed("binder Close", b.Close)
}
