package redis_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// TestConformanceStopOutOfTimeGivesBack: a handler that returns when its
// context ends, still running when its Stop's time is up, has its entry
// given back to the group in time (not left for claim-min-idle), and Stop
// returns nil.
func TestConformanceStopOutOfTimeGivesBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bindertest.RunStopOutOfTimeGivesBack(t, bindertest.Harness{
		NewBinder:  func(t *testing.T) stream.Binder { return e.binder(t, nil) },
		Persistent: true,
		Duplicates: true,
	})
}
