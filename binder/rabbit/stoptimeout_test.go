package rabbit

import (
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestConformanceStopOutOfTimeGivesBack runs the conformance subtest
// StopOutOfTimeGivesBack in a virtual host of its own: a handler that
// returns when its context ends, still running when its Stop's time is
// up, has its message requeued in time, and Stop returns nil.
func TestConformanceStopOutOfTimeGivesBack(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	bindertest.RunStopOutOfTimeGivesBack(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
			return tr
		},
		Persistent: true,
		Timeout:    20 * time.Second,
	})
}
