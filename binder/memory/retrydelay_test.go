package memory_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
)

// TestRetryDelays: non-blocking retries on the in-process broker (the
// shared scenario of bindertest.RunRetryDelays).
func TestRetryDelays(t *testing.T) {
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: memory.Type, Factory: memory.Factory(newBroker(t, memory.Config{})), Destination: "orders",
	})
}
