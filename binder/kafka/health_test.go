package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// waitHealth waits up to within for check(Health) to hold and returns how
// long it took.
func waitHealth(t *testing.T, hc stream.HealthChecker, within time.Duration, what string, check func(error) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := hc.Health(ctx)
		cancel()
		if check(err) {
			t.Logf("%s after %s (Health: %v)", what, time.Since(start).Round(time.Millisecond), err)
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("not %s within %s (Health: %v)", what, within, err)
		}
		time.Sleep(50 * time.Millisecond) // Health reads the background probe's last answer
	}
}

// TestHealthFollowsCluster (issue 8, case 4): with the default
// health-interval and health-timeout, Health turns into an error within
// 5 s of the cluster stopping and back to nil within 5 s of its return;
// a binder without bindings is up whatever the cluster does.
func TestHealthFollowsCluster(t *testing.T) {
	c := kafkatest.StartRestartable(t)
	idle := newBinder(t, c, nil)
	b := newBinder(t, c, nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
		_ = idle.Close(ctx)
	})
	bindProducer(t, b, uniqueTopic(t), 1)
	hc := b.(stream.HealthChecker)
	waitHealth(t, hc, 5*time.Second, "up", func(err error) bool { return err == nil })
	for range 2 {
		c.Close()
		waitHealth(t, hc, 5*time.Second, "down after the cluster stopped", func(err error) bool { return err != nil })
		if err := idle.(stream.HealthChecker).Health(context.Background()); err != nil {
			t.Fatalf("a binder without bindings must be up: %v", err)
		}
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		waitHealth(t, hc, 5*time.Second, "up after the cluster returned", func(err error) bool { return err == nil })
	}
}
