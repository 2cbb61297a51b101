package redis_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/internal/testproxy"
	"github.com/streambind/streambind/stream"
)

// holeProxy is a loopback TCP proxy to the shared server that the test
// can turn into a black hole: while frozen it forwards nothing either way
// (what it read waits, as TCP keeps unacknowledged segments; connections
// stay open, as with a server that hangs or a network that drops packets),
// new connections included; thawed, it forwards again. strand
// black-holes only the connections open at the time; throttle makes it a
// slow link. It is a testproxy.Proxy under the names the tests use.
type holeProxy struct{ p *testproxy.Proxy }

func newHoleProxy(t *testing.T) *holeProxy {
	t.Helper()
	return &holeProxy{p: testproxy.Start(t, redistest.Addr())}
}

func (p *holeProxy) addr() string { return p.p.Addr() }

// freeze stops forwarding; thaw forwards again.
func (p *holeProxy) freeze() { p.p.Freeze(testproxy.Both) }
func (p *holeProxy) thaw()   { p.p.Thaw() }

// strand black-holes the connections open now for good (a NAT or
// firewall that lost their state), while new ones are forwarded.
func (p *holeProxy) strand() { p.p.Strand() }

// throttle makes the proxy a link of rate bytes per second, shared by all
// connections and both directions.
func (p *holeProxy) throttle(rate int) { p.p.Throttle(rate) }

// seen returns the client connections accepted so far.
func (p *holeProxy) seen() []*testproxy.Link { return p.p.Links() }

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
	px.freeze()

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
	timed("Send", func(ctx context.Context) error {
		err := p.Send(ctx, msg("c"))
		// Queued and written, unanswered: the entry may be stored.
		if err == nil || !strings.Contains(err.Error(), "may still have been stored") {
			t.Errorf("Send to a black-holed Redis: %v, want an error saying the entry may still have been stored", err)
		}
		return err
	})
	timed("Pause", cons.Pause)
	timed("Resume", cons.Resume)
	timed("Stop", cons.Stop)
	timed("Start", cons.Start)
	timed("Stop again", cons.Stop)
	timed("producer Close", p.Close)
	timed("binder Close", b.Close)
}

// TestBreakBlackHoleRecovers: Redis black-holed for a few seconds (longer
// than command-timeout) while a group consumes: the binder reports itself
// down, sends fail within their ctx, and once the server answers again
// the binder is up, every send that was confirmed is received (none
// lost), and the consumer goes on without a restart.
func TestBreakBlackHoleRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name,
		"health-interval": "200ms", "health-timeout": "200ms", "command-timeout": "1s", "dial-timeout": "1s"})
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "hole", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 2},
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "hole"})
	ctx := context.Background()
	var ok []string
	sendSome := func(prefix string, n int, d time.Duration) (failed int) {
		for _, id := range ids(prefix, n) {
			sctx, cancel := context.WithTimeout(ctx, d)
			err := p.Send(sctx, msg(id))
			cancel()
			if err != nil {
				failed++
				continue
			}
			ok = append(ok, id)
		}
		return failed
	}
	if f := sendSome("before", 100, 5*time.Second); f > 0 {
		t.Fatalf("%d sends failed before the black hole", f)
	}
	tr.wait(t, ok, 10*time.Second)
	px.freeze()
	waitFor(t, 5*time.Second, "the binder down", func() bool { return b.Health(ctx) != nil })
	failed := sendSome("during", 5, 300*time.Millisecond)
	time.Sleep(2500 * time.Millisecond) // past command-timeout: reads and acks time out
	px.thaw()
	waitFor(t, 5*time.Second, "the binder up again", func() bool { return b.Health(ctx) == nil })
	if f := sendSome("after", 100, 5*time.Second); f > 0 {
		t.Errorf("%d sends failed after the black hole", f)
	}
	t.Logf("%d sends during the black hole failed (of 5)", failed)
	tr.wait(t, ok, 20*time.Second)
}

// TestBreakHungMemberReclaimed: member A of a group hangs (its server
// connections black-holed by the test's proxy) while it holds entries;
// member B reclaims them after claim-min-idle (1s) — not before — and
// handles every message. When A comes back its late acknowledgements do
// no harm: nothing stays pending, and A takes new messages again.
func TestBreakHungMemberReclaimed(t *testing.T) {
	e := newEnv(t)
	px := newHoleProxy(t)
	ctx := context.Background()
	dest := "hung"
	ext := map[string]any{"claim-min-idle": "1s", "claim-interval": "100ms"}
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	bA := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name + "-a", "command-timeout": "1s"})
	release := make(chan struct{})
	tookA := make(chan string, 100)
	trA := newTracker()
	bindReadingAhead(t, bA, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 2}, Extension: ext,
		Handler: func(_ context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			if id[0] == 'm' {
				tookA <- id
				<-release
			}
			trA.receive(id)
			return nil
		}})
	sent := ids("m", 20)
	send(t, p, sent)
	for range 2 {
		select {
		case <-tookA:
		case <-time.After(10 * time.Second):
			t.Fatal("member A took nothing")
		}
	}
	admin := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	waitFor(t, 10*time.Second, "member A to hold every entry", func() bool {
		s, err := admin.XPending(ctx, key, "g").Result()
		return err == nil && s.Count == int64(len(sent))
	})
	px.freeze()
	frozen := time.Now()
	// Member A renews its entries' idle time every claim-min-idle/3 until
	// the freeze: the last renewal may be a third of a second (more on a
	// loaded machine) before it. Each entry's idle time, read after the
	// freeze (no renewal gets through any more), says how early member B
	// may take it: at claim-min-idle minus that.
	pend, err := admin.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	var idle time.Duration
	for _, p := range pend {
		idle = max(idle, p.Idle)
	}
	earliest := time.Second - idle - 100*time.Millisecond
	trB := newTracker()
	var early []time.Duration
	var mu sync.Mutex
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g", Extension: ext,
		Handler: func(_ context.Context, m stream.Envelope) error {
			if d := time.Since(frozen); d < earliest {
				mu.Lock()
				early = append(early, d)
				mu.Unlock()
			}
			trB.receive(m.Headers[idHeader])
			return nil
		}})
	trB.wait(t, sent, 20*time.Second)
	t.Logf("member B handled all %d after %v", len(sent), time.Since(frozen))
	mu.Lock()
	if len(early) > 0 {
		t.Errorf("%d of member A's entries reclaimed before claim-min-idle: %v after the freeze, when the longest idle was %v", len(early), early, idle)
	}
	mu.Unlock()
	px.thaw()
	close(release)
	later := ids("n", 20)
	send(t, p, later)
	waitFor(t, 20*time.Second, "the later messages handled", func() bool { return trA.count(later)+trB.count(later) == len(later) })
	waitFor(t, 20*time.Second, "nothing pending", func() bool {
		s, err := admin.XPending(ctx, key, "g").Result()
		return err == nil && s.Count == 0
	})
}

// TestBreakPauseDoesNotWaitForBlackHole: Pause with Redis black-holed
// returns at once (the CLIENT UNBLOCK that ends the read in flight goes
// out beside it), rather than spending its whole ctx and then returning
// nil; no handler is called while paused.
func TestBreakPauseDoesNotWaitForBlackHole(t *testing.T) {
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name})
	got := make(chan string, 100)
	cons := bindConsumer(t, b, stream.ConsumerSpec{Destination: "pause", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got <- m.Headers[idHeader]; return nil }})
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "pause"})
	send(t, p, []string{"a"})
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no message received before the black hole")
	}
	px.freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := cons.Pause(ctx); err != nil {
		t.Errorf("Pause: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Pause with Redis black-holed took %v (ctx 3s)", took)
	}
	send(t, p, []string{"b"})
	px.thaw()
	select {
	case id := <-got:
		t.Errorf("%s handled while paused", id)
	case <-time.After(500 * time.Millisecond):
	}
	if err := cons.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received after Resume")
	}
}
