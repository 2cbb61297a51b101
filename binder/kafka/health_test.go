package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// Health is nil while the cluster answers and turns into an error once it
// is gone; a binder without bindings is up whatever the cluster does.
func TestHealthFollowsCluster(t *testing.T) {
	c := kafkatest.Start(t)
	idle := newBinder(t, c, nil)
	b := newBinder(t, c, map[string]any{"dial-timeout": "500ms"})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
		_ = idle.Close(ctx)
	})
	bindProducer(t, b, "health", 1)
	hc := b.(stream.HealthChecker)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hc.Health(ctx); err != nil {
		t.Fatalf("cluster up: %v", err)
	}
	c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for hc.Health(ctx) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Health still nil 30s after the cluster closed")
		}
		time.Sleep(50 * time.Millisecond) // the probe runs every 5s
	}
	if err := idle.(stream.HealthChecker).Health(ctx); err != nil {
		t.Fatalf("a binder without bindings must be up: %v", err)
	}
}
