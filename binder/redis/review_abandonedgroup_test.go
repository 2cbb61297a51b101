package redis_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// waitIdle waits until every consumer of group on key has been idle for
// at least d (what the abandoned-group check looks at).
func waitIdle(t *testing.T, ctx context.Context, rc *goredis.Client, key, group string, d time.Duration) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		cs, err := rc.XInfoConsumers(ctx, key, group).Result()
		if err != nil {
			t.Fatal(err)
		}
		ok := len(cs) > 0
		for _, c := range cs {
			if c.Idle < d {
				ok = false
			}
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumers of %s never idle for %s: %+v", group, d, cs)
		case <-tick.C:
		}
	}
}

// TestReviewLiveGroupNotAbandoned: another streambind service's group
// that is alive but does not read — all its handler slots busy (prefetch
// full behind a slow handler), or paused — for longer than claim-min-idle
// is reported as abandoned, with the advice to XGROUP DESTROY it.
func TestReviewLiveGroupNotAbandoned(t *testing.T) {
	t.Parallel()
	for _, tc := range []string{"busy", "paused"} {
		t.Run(tc, func(t *testing.T) {
			e := newEnv(t)
			b := e.binder(t, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			dest := "live-" + tc
			key := e.prefix + dest
			release := make(chan struct{})
			entered := make(chan struct{}, 16)
			handler := func(ctx context.Context, _ stream.Envelope) error {
				entered <- struct{}{}
				if tc == "busy" {
					select {
					case <-release:
					case <-ctx.Done():
					}
				}
				return nil
			}
			// The other service, alive: claim-min-idle 15s (its keeper
			// touches held entries every 5s), prefetch 2.
			other, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "svc-in-0", Destination: dest, Group: "svc",
				ContentType: stream.DefaultContentType, Handler: handler,
				Extension: map[string]any{"claim-min-idle": "15s", "prefetch": 2},
				Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if err := other.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() {
				close(release)
				if err := other.Stop(ctx); err != nil {
					t.Error(err)
				}
			}()
			p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
			send(t, p, ids("m", 1))
			<-entered
			if tc == "paused" {
				if err := other.Pause(ctx); err != nil {
					t.Fatal(err)
				}
			}
			send(t, p, ids("n", 5)) // lag: the service has not read them yet
			rc := redistest.Client(t, redistest.Addr(), "", "")
			waitIdle(t, ctx, rc, key, "svc", 4500*time.Millisecond)

			w := &warnLines{}
			c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "new-in-0", Destination: dest, Group: "g2",
				ContentType: stream.DefaultContentType, Handler: func(context.Context, stream.Envelope) error { return nil },
				Logger: slog.New(w), Extension: map[string]any{"claim-min-idle": "1s"}, // the check's threshold: 4s
				Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil { // the first Start looks
				t.Fatal(err)
			}
			if err := c.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("WARNs: %q", w.matching(""))
			if got := w.matching("other-group=svc"); len(got) != 0 {
				t.Errorf("a live (%s) service's group is reported abandoned: %q", tc, got)
			}
		})
	}
}

// TestReviewNoXinfoPermissionBinds: an ACL user that may not run XINFO
// still binds a named group (the abandoned-group look-up is best effort).
func TestReviewNoXinfoPermissionBinds(t *testing.T) {
	s := redistest.StartServer(t,
		"--user", "default", "off",
		"--user", "app", "on", ">"+appPassword, "resetkeys", "~sb:*", "resetchannels", "-@all",
		"+@stream", "-xinfo", "+ping", "+hello", "+auth", "+client|setname", "+client|id", "+client|unblock",
		"+eval", "+evalsha", "+zadd", "+zscore",
	)
	b := newBinder(t, map[string]any{"address": s.Addr(), "username": "app", "password": appPassword, "key-prefix": "sb:"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, g := range []string{"g1", "g2"} {
		c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: g + "-in-0", Destination: "noxinfo", Group: g,
			ContentType: stream.DefaultContentType, Handler: func(context.Context, stream.Envelope) error { return nil },
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
		if err != nil {
			t.Fatalf("bind %s without XINFO permission: %v", g, err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
