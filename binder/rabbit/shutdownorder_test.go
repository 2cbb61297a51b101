package rabbit

import (
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestConformanceShutdownKeepsOrder runs the conformance subtest
// ShutdownKeepsOrder (the conformance groups skip it) in a virtual host
// of its own: a message given back in its back-off at shutdown, and the
// messages queued behind it, come again after the restart in order.
func TestConformanceShutdownKeepsOrder(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	bindertest.RunShutdownKeepsOrder(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
			return tr
		},
		Persistent: true,
		Timeout:    20 * time.Second,
	})
}
