package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestHealthSaysWhyPINGFailed: with the server gone (its port refusing
// connections), readiness reports the refusal, not a PING that did not
// answer within health-timeout, which is what it said for every failure.
func TestHealthSaysWhyPINGFailed(t *testing.T) {
	t.Parallel()
	s := redistest.StartServer(t)
	b := newBinder(t, map[string]any{"address": s.Addr(), "health-interval": "400ms", "health-timeout": "2s"})
	bindProducer(t, b, stream.ProducerSpec{Destination: "h"})
	s.Stop()
	var h error
	waitFor(t, 10*time.Second, "health to report the refused connection", func() bool {
		h = b.Health(context.Background())
		return h != nil && strings.Contains(h.Error(), "connection refused")
	})
	if strings.Contains(h.Error(), "health-timeout") {
		t.Errorf("health %q blames health-timeout for a refused connection", h)
	}
	t.Logf("health: %v", h)
}
