package rabbit_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestRetryDelays: non-blocking retries through per-delay wait queues (TTL
// + dead-letter back to the consumer's queue), in a virtual host of the
// test's own (bindertest.RunRetryDelays).
func TestRetryDelays(t *testing.T) {
	vhost := rabbittest.VHost(t)
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: rabbit.Type, Factory: rabbit.New, Destination: "orders",
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost},
	})
}
