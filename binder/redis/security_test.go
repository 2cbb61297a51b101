package redis_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

const (
	adminPassword = "admin-Pw-7741"
	appPassword   = "app-S3cret-9f2d"
	wrongPassword = "wr0ng-S3cret-55aa"
)

// aclServer starts a redis-server of the test's own whose default user is
// off, with an admin user and an application user "app" that has exactly
// the permissions the package doc lists, on keys under "sb:".
func aclServer(t *testing.T) (*redistest.Server, *goredis.Client) {
	t.Helper()
	s := redistest.StartServer(t,
		"--user", "default", "off",
		"--user", "admin", "on", ">"+adminPassword, "~*", "&*", "+@all",
		"--user", "app", "on", ">"+appPassword, "resetkeys", "~sb:*", "resetchannels", "-@all",
		"+@stream", "+ping", "+hello", "+auth", "+client|setname", "+client|id", "+client|unblock",
		"+eval", "+evalsha", "+multi", "+exec", "+zadd", "+zscore",
	)
	return s, redistest.Client(t, s.Addr(), "admin", adminPassword)
}

// TestACLConformance: the conformance suite passes as an ACL user with
// the permissions the package doc lists, and no more.
func TestACLConformance(t *testing.T) {
	t.Parallel()
	s, _ := aclServer(t)
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return newBinder(t, map[string]any{"address": s.Addr(), "username": "app", "password": appPassword, "key-prefix": "sb:"})
		},
		Persistent: true,
		Duplicates: true,
	})
}

// connectionsReceived is the server's count of accepted connections.
func connectionsReceived(t *testing.T, admin *goredis.Client) int {
	t.Helper()
	info, err := admin.Info(context.Background(), "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "total_connections_received:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatal("no total_connections_received in INFO")
	return 0
}

// TestWrongPassword: a refused login ends the bind at once with a clear
// error that is not "unavailable" (start-up does not retry it) and does not
// show the password; it is not retried (one connection), and health does
// not show the password either. The same with the password in a URL.
func TestWrongPassword(t *testing.T) {
	s, admin := aclServer(t)
	for _, tc := range []struct {
		name string
		env  map[string]any
	}{
		{"username/password", map[string]any{"address": s.Addr(), "username": "app", "password": wrongPassword}},
		{"url", map[string]any{"url": "redis://app:" + wrongPassword + "@" + s.Addr() + "/0"}},
		{"no password", map[string]any{"address": s.Addr()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := connectionsReceived(t, admin)
			b := newBinder(t, tc.env)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "sb:x"})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("bind succeeded with a wrong password")
			}
			t.Logf("error after %s: %v", elapsed, err)
			if errors.Is(err, stream.ErrUnavailable) {
				t.Errorf("a refused login is marked unavailable (start-up would retry it): %v", err)
			}
			if !strings.Contains(err.Error(), "authentication failed") {
				t.Errorf("error does not say the login was refused: %v", err)
			}
			if strings.Contains(err.Error(), wrongPassword) {
				t.Errorf("error shows the password: %v", err)
			}
			if elapsed > 2*time.Second {
				t.Errorf("bind took %s", elapsed)
			}
			if n := connectionsReceived(t, admin) - before - 1; n > 1 { // -1: INFO's own connection is pooled
				t.Errorf("the binder opened %d connections for one bind: retried", n)
			}
			if h := b.Health(ctx); h == nil || strings.Contains(h.Error(), wrongPassword) {
				t.Errorf("health after a refused login: %v", h)
			}
		})
	}
}

// TestUnreachableAtBind: with nothing listening, a bind fails within
// dial-timeout with an error wrapped with stream.Unavailable, so that
// start-up retries it.
func TestUnreachableAtBind(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b := newBinder(t, map[string]any{"address": addr, "password": appPassword, "username": "app", "dial-timeout": "500ms"})
	start := time.Now()
	_, err = b.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "x-in-0", Destination: "x", Group: "g",
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	if !errors.Is(err, stream.ErrUnavailable) {
		t.Fatalf("bind without a server: %v, want an error matching stream.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("bind took %s with dial-timeout 500ms", d)
	}
	if strings.Contains(err.Error(), appPassword) {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestHealthFollowsServer: health goes down within a few health
// intervals of the server stopping and up again after it returns; sends
// work again.
func TestHealthFollowsServer(t *testing.T) {
	t.Parallel()
	s := redistest.StartServer(t)
	b := newBinder(t, map[string]any{"address": s.Addr(), "health-interval": "200ms", "health-timeout": "200ms"})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "h"})
	ctx := context.Background()
	if err := b.Health(ctx); err != nil {
		t.Fatalf("health after a bind: %v", err)
	}
	s.Stop()
	stopped := time.Now()
	waitFor(t, 3*time.Second, "health down", func() bool { return b.Health(ctx) != nil })
	t.Logf("down after %s: %v", time.Since(stopped), b.Health(ctx))
	s.Start()
	started := time.Now()
	waitFor(t, 3*time.Second, "health up", func() bool { return b.Health(ctx) == nil })
	t.Logf("up after %s", time.Since(started))
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Send(sctx, msg("after")); err != nil {
		t.Fatalf("send after the server returned: %v", err)
	}
}

// TestBindingHealthWrongType: a destination whose key holds another type
// fails sends for good and reports the producer binding down.
func TestBindingHealthWrongType(t *testing.T) {
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	b := e.binder(t, nil)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "typed"})
	if err := admin.Set(context.Background(), redisbinder.StreamKey(e.prefix, "typed", -1), "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	err := p.Send(context.Background(), msg("x"))
	if err == nil || !stream.IsPermanent(err) {
		t.Fatalf("send to a string key: %v, want a permanent error", err)
	}
	hc, ok := p.(stream.BindingHealthChecker)
	if !ok {
		t.Fatal("the producer binding does not report its health")
	}
	if h := hc.Health(context.Background()); h == nil || !strings.Contains(h.Error(), "WRONGTYPE") {
		t.Errorf("binding health: %v, want WRONGTYPE", h)
	}
	admin.Del(context.Background(), redisbinder.StreamKey(e.prefix, "typed", -1))
	if err := p.Send(context.Background(), msg("y")); err != nil {
		t.Fatal(err)
	}
	if h := hc.Health(context.Background()); h != nil {
		t.Errorf("binding health after a send succeeded: %v", h)
	}
}

// TestServerRestartRecovers: a server of the test's own restarts without
// persistence (its streams and groups are gone); the consumer creates its
// group again and receives what is sent after the restart, and the
// producer's sends go through again. Close is bounded by its ctx while
// the server is down.
func TestServerRestartRecovers(t *testing.T) {
	s := redistest.StartServer(t)
	b := newBinder(t, map[string]any{"address": s.Addr(), "health-interval": "200ms", "health-timeout": "200ms"})
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "rs", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "rs"})
	before := ids("before", 20)
	send(t, p, before)
	tr.wait(t, before, 10*time.Second)
	s.Stop()
	s.Start()
	after := ids("after", 20)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range after {
		for {
			err := p.Send(ctx, msg(id))
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("send after the restart: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	tr.wait(t, after, 20*time.Second)

	// Close while the server is down: bounded by ctx.
	s.Stop()
	cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
	defer ccancel()
	start := time.Now()
	_ = b.Close(cctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close with the server down took %s, ctx allowed 1s", d)
	}
}

// TestSecretsNotLogged: with the password in a URL and as a setting, no
// log line (debug included) or health error shows it — across a normal
// run, a server that goes away and comes back, and a refused login.
func TestSecretsNotLogged(t *testing.T) {
	t.Parallel()
	s, _ := aclServer(t)
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("binder", "r") // as the App's
	mk := func(env map[string]any) stream.Binder {
		b, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "r", Type: redisbinder.Type, Environment: env, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		return b
	}
	good := mk(map[string]any{"url": "redis://app:" + appPassword + "@" + s.Addr(), "key-prefix": "sb:", "health-interval": "100ms", "health-timeout": "100ms"})
	tr := newTracker()
	c := bindConsumer(t, good, stream.ConsumerSpec{Destination: "sec", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			tr.receive(m.Headers[idHeader])
			if m.Headers[idHeader] == "bad" {
				return errors.New("rejected")
			}
			return nil
		}})
	p := bindProducer(t, good, stream.ProducerSpec{Destination: "sec"})
	send(t, p, []string{"a", "bad"})
	tr.wait(t, []string{"a", "bad"}, 10*time.Second)
	s.Stop()
	hc := good.(stream.HealthChecker)
	waitFor(t, 5*time.Second, "health down", func() bool { return hc.Health(context.Background()) != nil })
	if h := hc.Health(context.Background()); strings.Contains(h.Error(), appPassword) {
		t.Errorf("health shows the password: %v", h)
	}
	_ = p.Send(context.Background(), msg("while-down"))
	s.Start()
	waitFor(t, 5*time.Second, "health up", func() bool { return hc.Health(context.Background()) == nil })
	_ = c.Stop(context.Background())
	bad := mk(map[string]any{"url": "redis://app:" + wrongPassword + "@" + s.Addr()})
	if _, err := bad.BindProducer(context.Background(), stream.ProducerSpec{Binding: "x-out-0", Destination: "sb:x"}); err == nil {
		t.Fatal("wrong password accepted")
	}
	out := buf.String()
	if !strings.Contains(out, "server down") {
		t.Errorf("no log of the outage; logs:\n%s", out)
	}
	for _, pw := range []string{appPassword, wrongPassword} {
		if strings.Contains(out, pw) {
			t.Errorf("a log line shows a password:\n%s", out)
		}
	}
	// The App's logger names the binder; the binder does not again.
	for _, line := range strings.Split(out, "\n") {
		if strings.Count(line, "binder=") > 1 {
			t.Errorf("a log line names the binder twice: %s", line)
		}
	}
}
