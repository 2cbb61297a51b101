package nats_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/internal/testproxy"
	"github.com/streambind/streambind/stream"
)

// TestServerRestartLosesNothing: the test's own nats-server is killed and
// restarted while a producer sends and a group consumes; every message
// whose Send returned nil is received.
func TestServerRestartLosesNothing(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{})
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	dest := unique(t, "restart")
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{
		Destination: dest, Group: "g", Handler: tr.handler(0),
		Consumer:  stream.ConsumerConfig{Concurrency: 2},
		Extension: map[string]any{"ack-wait": "2s"},
	})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})

	const total = 1500
	var (
		mu     sync.Mutex
		ok     []string
		failed int
	)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range total {
			id := "m-" + strconv.Itoa(i)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err := p.Send(ctx, msg(id))
			cancel()
			mu.Lock()
			if err == nil {
				ok = append(ok, id)
			} else {
				failed++
			}
			mu.Unlock()
			time.Sleep(500 * time.Microsecond)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(tr.missing([]string{"m-300"})) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("no traffic before the restart")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Restart()
	<-sent
	mu.Lock()
	confirmed := append([]string(nil), ok...)
	t.Logf("%d sends confirmed, %d failed", len(confirmed), failed)
	mu.Unlock()
	if len(confirmed) < total/2 {
		t.Fatalf("only %d of %d sends confirmed: the producer did not ride out the restart", len(confirmed), total)
	}
	tr.wait(t, confirmed, 20*time.Second)
}

// TestStoppedConsumerHandsBack: a group member stopped while it holds
// received messages gives them back at once (not after ack-wait), so
// another member of the group gets them.
func TestStoppedConsumerHandsBack(t *testing.T) {
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	dest := unique(t, "handback")
	s.add(dest)
	a, b := newBinder(t, natstest.URL(), map[string]any{"name": "A"}), newBinder(t, natstest.URL(), map[string]any{"name": "B"})
	closeBinder(t, a)
	closeBinder(t, b)
	tr := newTracker()
	first := make(chan struct{})
	var once sync.Once
	release := make(chan struct{})
	slow := func(ctx context.Context, m stream.Envelope) error {
		once.Do(func() { close(first) })
		select { // hold the first message until the test lets go
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		tr.receive(0, m.Headers[idHeader])
		return nil
	}
	// ack-wait 30s (the default): a message given back late would miss the
	// deadline below.
	// prefetch 4: A holds at most the first message, its queue (2 x
	// prefetch + 1) and a pull's worth; most of the 50 must reach B.
	const prefetch = 4
	ext := map[string]any{"prefetch": prefetch}
	ca := startConsumer(t, a, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: slow, Extension: ext})
	p := bindProducer(t, a, stream.ProducerSpec{Destination: dest})
	var want []string
	for i := range 50 {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("member A received nothing")
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(1), Extension: ext})
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- ca.Stop(ctx)
	}()
	// Stop is meant to be waiting for the handler in flight when it
	// returns; if Stop is slower to get there (load), A handles some of
	// what it queued first, by design (see run.work), and those are not
	// B's to get.
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tr.wait(t, want, 5*time.Second)
	tr.mu.Lock()
	byA, byB := 0, 0
	for _, id := range want {
		byA += tr.by[id][0]
		byB += tr.by[id][1]
	}
	tr.mu.Unlock()
	t.Logf("member B got %d of %d within %s of the stop (A handled %d)", byB, len(want), time.Since(start).Round(time.Millisecond), byA)
	if byA > 1+(2*prefetch+1)+prefetch {
		t.Errorf("member A handled %d messages, more than it can hold (prefetch %d)", byA, prefetch)
	}
	if byB < len(want)-byA {
		t.Errorf("member B got %d messages, want at least %d (all but the %d A handled)", byB, len(want)-byA, byA)
	}
}

// TestNakRedeliveryDelay: a Nak'ed message comes back, and no sooner than
// redelivery-delay.
func TestNakRedeliveryDelay(t *testing.T) {
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	dest := unique(t, "nak")
	s.add(dest)
	b := newBinder(t, natstest.URL(), nil)
	closeBinder(t, b)
	const delay = 400 * time.Millisecond
	var mu sync.Mutex
	seen := map[string][]time.Time{}
	tr := newTracker()
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		seen[id] = append(seen[id], time.Now())
		n := len(seen[id])
		mu.Unlock()
		if n == 1 {
			return fmt.Errorf("not now: %w", stream.ErrNak)
		}
		tr.receive(0, id)
		return nil
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Extension: map[string]any{"redelivery-delay": delay.String()}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	want := []string{"a", "b", "c"}
	for _, id := range want {
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, want, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for _, id := range want {
		ts := seen[id]
		if gap := ts[1].Sub(ts[0]); gap < delay {
			t.Errorf("message %s came back after %s, before redelivery-delay %s", id, gap, delay)
		} else {
			t.Logf("message %s came back after %s", id, gap.Round(time.Millisecond))
		}
	}
}

// TestUnreachableAtBind: a server nobody listens on is an error wrapped
// with stream.ErrUnavailable, quickly.
func TestUnreachableAtBind(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b := newBinder(t, "nats://"+addr, map[string]any{"connect-timeout": "1s"})
	closeBinder(t, b)
	start := time.Now()
	_, err = b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "x-out-0", Destination: "x", ContentType: "text/plain"})
	if !errors.Is(err, stream.ErrUnavailable) {
		t.Fatalf("BindProducer: %v, want an error matching stream.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("BindProducer took %s", d)
	}
	t.Log(err)
}

// TestHealthFollowsTheServer: Health is nil while connected, an error
// within seconds of the server going away, and nil again once it is back.
func TestHealthFollowsTheServer(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	ctx := context.Background()
	if err := b.Health(ctx); err != nil {
		t.Fatalf("Health before any bind: %v", err)
	}
	bindProducer(t, b, stream.ProducerSpec{Destination: unique(t, "health")})
	if err := b.Health(ctx); err != nil {
		t.Fatalf("Health while connected: %v", err)
	}
	srv.Stop()
	waitFor(t, 5*time.Second, "Health to report the server gone", func() bool { return b.Health(ctx) != nil })
	t.Log(b.Health(ctx))
	srv.Restart()
	waitFor(t, 10*time.Second, "Health to recover", func() bool { return b.Health(ctx) == nil })
}

// TestReconnectBackoffPersists: a server that drops every connection right
// after accepting it is not redialled in a tight loop: the back-off grows
// across reconnections that do not stay up.
func TestReconnectBackoffPersists(t *testing.T) {
	t.Parallel() // counts reconnects in 3s on its own server (a bound load only lowers): runs beside the others
	srv := natstest.Start(t, natstest.Options{})
	px := testproxy.Start(t, srv.Addr())
	b := newBinder(t, "nats://"+px.Addr(), map[string]any{"reconnect-initial-interval": "50ms", "reconnect-max-interval": "2s"})
	closeBinder(t, b)
	bindProducer(t, b, stream.ProducerSpec{Destination: unique(t, "cut")})
	// Each new connection is closed 100ms after it is accepted (after the
	// NATS handshake), like a server that kills every connection.
	px.CutAfter(100 * time.Millisecond)
	px.Cut()
	before := len(px.Links())
	time.Sleep(3 * time.Second)
	n := len(px.Links()) - before
	t.Logf("%d connections in 3s while every connection was cut", n)
	// Without a back-off that survives reconnections: one every ~50ms.
	if n > 8 {
		t.Errorf("%d reconnects in 3s, want a growing back-off (at most 8)", n)
	}
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
