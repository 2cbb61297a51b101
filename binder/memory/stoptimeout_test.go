package memory_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestConformanceStopOutOfTimeGivesBack: a handler that returns when its
// context ends, still running when its Stop's time is up, has its message
// given back in time, and Stop returns nil.
func TestConformanceStopOutOfTimeGivesBack(t *testing.T) {
	b := newBroker(t, memory.Config{})
	bindertest.RunStopOutOfTimeGivesBack(t, bindertest.Harness{
		NewBinder:  func(t *testing.T) stream.Binder { return newBinder(t, b, nil) },
		Persistent: true,
	})
}
