package nats_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestConformanceStopOutOfTimeGivesBack: a handler that returns when its
// context ends, still running when its Stop's time is up, has its message
// Nak'ed in time (not left for ack-wait), and Stop returns nil.
func TestConformanceStopOutOfTimeGivesBack(t *testing.T) {
	t.Parallel()
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	bindertest.RunStopOutOfTimeGivesBack(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return tracked{newBinder(t, natstest.URL(), nil), s}
		},
		Persistent: true,
		Duplicates: true,
	})
}
