package rabbit

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestBindUnreachableIsUnavailable is case 9 of issue 8: with no broker
// reachable, BindProducer and BindConsumer return at once (one connection
// attempt, bounded by connection-timeout) an error wrapped with
// stream.Unavailable, which the core retries until the binder's
// startup-timeout; once the broker can be reached, the next bind succeeds.
func TestBindUnreachableIsUnavailable(t *testing.T) {
	addr := closedPort(t)
	_, tr := newTestBinder(t, map[string]any{"addresses": addr, "connection-timeout": "1s", "reconnect-initial-interval": "5s", "reconnect-max-interval": "10s"})
	dest := uniqueDest(t, "unreachable")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := func(context.Context, stream.Envelope) error { return nil }
	for i, bind := range []func() error{
		func() error {
			_, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "u-out-0", Destination: dest})
			return err
		},
		func() error {
			_, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "u-in-0", Destination: dest, Group: "g", Handler: h})
			return err
		},
		func() error {
			_, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "u-out-0", Destination: dest})
			return err
		},
	} {
		start := time.Now()
		err := bind()
		took := time.Since(start)
		t.Logf("bind %d: %v after %v", i, err, took.Round(time.Millisecond))
		if !errors.Is(err, stream.ErrUnavailable) || took > 3*time.Second {
			t.Fatalf("bind %d with no broker: %v after %v, want an error wrapped with stream.Unavailable within 3s", i, err, took)
		}
	}
	// The broker becomes reachable at that address: the next binds
	// succeed, without waiting for the binder's reconnect back-off.
	rabbittest.ListenProxy(t, addr, nil)
	start := time.Now()
	if _, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "u-out-0", Destination: dest}); err != nil {
		t.Fatalf("bind once the broker is reachable: %v", err)
	}
	if _, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "u-in-0", Destination: dest, Group: "g", Handler: h}); err != nil {
		t.Fatalf("bind once the broker is reachable: %v", err)
	}
	t.Logf("bound %v after the broker came", time.Since(start).Round(time.Millisecond))
	// Waiting for the back-off would take 5s (reconnect-initial-interval);
	// the binds themselves take milliseconds, and under CI's load up to a
	// second or so.
	if time.Since(start) > 4*time.Second {
		t.Fatalf("binds took %v once the broker was reachable", time.Since(start))
	}
}

// TestBindRefusedIsNotUnavailable: a broker that refuses the client (a
// wrong password, a virtual host that does not exist) ends start-up at once
// with a clear error, not wrapped with stream.Unavailable and without the
// password. (RabbitMQ closes the socket of a refused login after 3s without
// a word, since amqp091-go does not ask for authentication_failure_close;
// connection-timeout ends the wait earlier, and amqp091-go reports 403.)
func TestBindRefusedIsNotUnavailable(t *testing.T) {
	rabbittest.Require(t)
	const secret = "not-the-pa55word"
	for name, env := range map[string]map[string]any{
		"wrong password": {"password": secret},
		"unknown vhost":  {"password": "guest", "virtual-host": "streambind-no-such-vhost"},
	} {
		t.Run(name, func(t *testing.T) {
			// The bind returns after it (the broker answers a refused login
			// with nothing for 3s): 1s, as TestAppStartupRule's refused login.
			env["connection-timeout"] = "1s"
			_, tr := newTestBinder(t, env)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "r-out-0", Destination: uniqueDest(t, "refused")})
			took := time.Since(start)
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
			if err == nil || errors.Is(err, stream.ErrUnavailable) || took > 3*time.Second {
				t.Fatalf("bind refused by the broker: %v after %v, want a plain error within 3s", err, took)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the password: %v", err)
			}
			if code, _ := amqpCode(err); code != 403 && code != 530 {
				t.Errorf("error does not carry the broker's refusal: %v", err)
			}
		})
	}
}

// TestAppStartupRule: the app retries the binds of an unreachable broker
// until the binder's startup-timeout, then fails; a refused login fails
// start-up at once.
func TestAppStartupRule(t *testing.T) {
	rabbittest.Require(t)
	for _, tc := range []struct {
		name    string
		env     map[string]any
		timeout time.Duration
		within  time.Duration
		want    string
	}{
		{"unreachable", map[string]any{"addresses": closedPort(t), "connection-timeout": "500ms"}, 1500 * time.Millisecond, 5 * time.Second, "startup-timeout"},
		// RabbitMQ closes the socket of a refused login after 3s (amqp091-go
		// does not ask for the immediate authentication_failure_close):
		// the connection-timeout comes first.
		{"refused", map[string]any{"addresses": rabbittest.Address(), "password": "wrong", "connection-timeout": "1s"}, time.Minute, 3 * time.Second, "403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Together: each waits out a timeout of its own (1.5s, 1s)
			// on a connection of its own; the test is serial.
			t.Parallel()
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
			cfg := &stream.Config{
				Function:      stream.FunctionConfig{Definition: "sink"},
				DefaultBinder: "rabbit",
				Binders:       map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: tc.env, StartupTimeout: tc.timeout}},
				Bindings:      map[string]stream.BindingConfig{"sink-in-0": {Destination: uniqueDest(t, "startup"), Group: "g"}},
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
			t.Logf("Run: %v after %v", err, took.Round(time.Millisecond))
			if err == nil || !strings.Contains(err.Error(), tc.want) || took > tc.within || took < tc.timeout && tc.name == "unreachable" {
				t.Fatalf("Run: %v after %v, want an error naming %q within %v", err, took, tc.want, tc.within)
			}
		})
	}
}

// TestStartupOneRetrySchedule: while the app retries a bind at start-up,
// the binder runs no reconnect loop of its own: no "connect failed;
// retrying" lines next to the app's, no connection attempts between the
// app's retries, and none after a refused login, which is not retried.
func TestStartupOneRetrySchedule(t *testing.T) {
	t.Parallel()
	rabbittest.Require(t)
	// A port that accepts TCP connections and closes them: each connection
	// attempt is seen (and fails as unavailable).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	for _, tc := range []struct {
		name string
		env  map[string]any
	}{
		{"unreachable", map[string]any{"addresses": ln.Addr().String(), "connection-timeout": "500ms"}},
		{"refused", map[string]any{"addresses": rabbittest.Address(), "password": "wrong", "connection-timeout": "1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			var mu sync.Mutex
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
			tc.env["reconnect-initial-interval"] = "50ms"
			cfg := &stream.Config{
				Function:      stream.FunctionConfig{Definition: "sink"},
				DefaultBinder: "rabbit",
				Binders:       map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: tc.env, StartupTimeout: 2 * time.Second}},
				Bindings:      map[string]stream.BindingConfig{"sink-in-0": {Destination: uniqueDest(t, "startup"), Group: "g"}},
			}
			app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(newLockedLogger(&buf, &mu)))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			accepted.Store(0)
			start := time.Now()
			err = app.Run(ctx)
			took := time.Since(start)
			mu.Lock()
			logs := buf.String()
			mu.Unlock()
			appRetries := strings.Count(logs, "retrying the bind")
			t.Logf("Run: %v after %v; %d app retries, %d connections accepted", err, took.Round(time.Millisecond), appRetries, accepted.Load())
			if err == nil {
				t.Fatal("Run succeeded")
			}
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, `msg="rabbit:`) && strings.Contains(line, "retrying") {
					t.Errorf("the binder logs a retry of its own at start-up: %s", line)
				}
			}
			if tc.name == "unreachable" {
				// One attempt per bind call: the app's first call and its retries.
				if n := accepted.Load(); n > int64(appRetries)+1 {
					t.Errorf("%d connection attempts for %d bind calls: the binder retries on its own too", n, appRetries+1)
				}
			} else if appRetries != 0 {
				t.Errorf("a refused login was retried %d times", appRetries)
			}
		})
	}
}

// TestBindAttemptsBounded: an app that binds again and again while the
// broker is down (a bridge to dynamic destinations) causes at most about
// one connection attempt a second, before the first connection and while
// the reconnect loop runs after one was lost; the binds still return at
// once with an unavailable error.
func TestBindAttemptsBounded(t *testing.T) {
	t.Parallel()
	px := rabbittest.NewProxy(t, nil)
	addr := px.Addr()
	b, tr := newTestBinder(t, map[string]any{"addresses": addr, "connection-timeout": "500ms", "reconnect-initial-interval": "2s", "reconnect-max-interval": "10s"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dest := uniqueDest(t, "bounded")
	hammer := func(d time.Duration) (binds int) {
		for start := time.Now(); time.Since(start) < d; binds++ {
			bctx, bcancel := context.WithTimeout(ctx, 3*time.Second)
			_, err := tr.BindProducer(bctx, stream.ProducerSpec{Binding: "b-out-0", Destination: dest})
			bcancel()
			if !errors.Is(err, stream.ErrUnavailable) {
				t.Fatalf("bind with the broker down: %v, want unavailable", err)
			}
		}
		return binds
	}
	attempts := func() uint64 {
		b.pubMgr.mu.Lock()
		defer b.pubMgr.mu.Unlock()
		return b.pubMgr.attempts
	}
	// The broker was never reached: the port refuses connections.
	px.Close()
	const window = 3 * time.Second
	a0 := attempts()
	binds := hammer(window)
	n := attempts() - a0
	t.Logf("never connected: %d binds, %d connection attempts in %v", binds, n, window)
	if n > 5 {
		t.Errorf("%d connection attempts in %v of binds: want at most about one a second", n, window)
	}
	// Connected once, then the broker goes away: the reconnect loop runs,
	// and binds bring its attempts forward no more than once a second.
	px2 := rabbittest.ListenProxy(t, addr, nil)
	if _, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "b-out-0", Destination: dest}); err != nil {
		t.Fatal(err)
	}
	px2.Close()
	for b.pubMgr.health() == nil && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // polling the state, bounded by ctx
	}
	a0 = attempts()
	binds = hammer(window)
	n = attempts() - a0
	t.Logf("after a lost connection: %d binds, %d connection attempts in %v", binds, n, window)
	if n > 5 {
		t.Errorf("%d connection attempts in %v of binds: want at most about one a second", n, window)
	}
}
