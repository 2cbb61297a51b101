package nats_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A binder that has never connected is down, with the connect error, while
// its binds fail; not up (readiness, streambind_binder_up) as it was.
func TestHealthDownBeforeFirstConnect(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close() // nothing listens there now

	b := newBinder(t, url, map[string]any{"connect-timeout": "1s"})
	closeBinder(t, b)
	if err := b.Health(context.Background()); err != nil {
		t.Fatalf("before any bind: %v, want up (nothing tried yet)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "out-0", Destination: "natstest.health.never", ContentType: stream.DefaultContentType})
	if err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("BindProducer: %v, want cannot connect", err)
	}
	herr := b.Health(context.Background())
	if herr == nil || !strings.Contains(herr.Error(), "cannot connect") || !strings.Contains(herr.Error(), l.Addr().String()) {
		t.Fatalf("Health after a failed connect: %v, want down with the connect error", herr)
	}
}

// TestHealthDoesNotWaitForAReconnect: while nats.go reconnects to a server
// that accepts the connection and never answers, it holds the connection's
// lock for the whole dial and handshake (up to connect-timeout); Health
// (readiness, streambind_binder_up) waited for it — 2s for each call here,
// 3–4.6s in a trial — and now returns at once, down.
func TestHealthDoesNotWaitForAReconnect(t *testing.T) {
	const connectTimeout = 2 * time.Second
	// Waiting for the reconnect takes the whole connect-timeout; a call
	// under CPU load (CI, other tests) may take a few hundred ms without
	// it (a CI run failed at 237ms with 200 here).
	const bound = connectTimeout / 2
	srv := natstest.Start(t, natstest.Options{})
	px := newHoleProxy(t, srv.Addr())
	b := newBinder(t, px.url(), map[string]any{
		"connect-timeout":            connectTimeout.String(),
		"reconnect-initial-interval": "50ms",
		"reconnect-max-interval":     "100ms",
	})
	closeBinder(t, b)
	ctx := context.Background()
	bindProducer(t, b, stream.ProducerSpec{Destination: unique(t, "health.silent")})
	if err := b.Health(ctx); err != nil {
		t.Fatalf("Health while connected: %v", err)
	}

	// The server goes silent: the connection drops, and every reconnect
	// is accepted and never answered.
	px.blackhole(true)
	px.cut()
	// And Health has seen the disconnection: nats.go tells it on its
	// callback goroutine while it waits its reconnect back-off (50ms) and
	// dials, so under load the attempt can come first, with Health up for
	// those ms. A Health that waits for the attempt holds this wait up,
	// not the calls below, which find the next attempts.
	waitFor(t, 10*time.Second, "a reconnect attempt to the silent server", func() bool {
		return px.accepted() > 0 && b.Health(ctx) != nil
	})

	// The attempt holds nats.go's lock until its handshake times out.
	var worst time.Duration
	var last error
	calls := 0
	for end := time.Now().Add(connectTimeout + 500*time.Millisecond); time.Now().Before(end); calls++ {
		start := time.Now()
		last = b.Health(ctx)
		took := time.Since(start)
		worst = max(worst, took)
		if took > bound {
			t.Errorf("Health took %s while reconnecting (%v)", took.Round(time.Millisecond), last)
		}
		if last == nil {
			t.Fatal("Health is up while the server does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d Health calls while reconnecting, the slowest %s: %v", calls, worst.Round(time.Microsecond), last)
	if !strings.Contains(last.Error(), "reconnecting") || !strings.Contains(last.Error(), px.p.Addr()) {
		t.Errorf("Health: %v, want not connected (reconnecting) to the proxy", last)
	}
	// The reason names the failed handshakes (nats.go calls no callback
	// for them) as it did when Health asked the connection.
	waitFor(t, 3*connectTimeout, "Health to name the handshake's timeout", func() bool {
		start := time.Now()
		last = b.Health(ctx)
		if took := time.Since(start); took > bound {
			t.Errorf("Health took %s while reconnecting (%v)", took.Round(time.Millisecond), last)
		}
		return last != nil && strings.Contains(last.Error(), "last attempt") && strings.Contains(last.Error(), "timeout")
	})
	t.Logf("Health after a failed attempt: %v", last)

	// The server answers again: Health follows.
	px.blackhole(false)
	px.cut()
	waitFor(t, 15*time.Second, "Health to recover", func() bool { return b.Health(ctx) == nil })
}
