package kafka_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestConformanceStopOutOfTimeGivesBack: a handler that returns when its
// context ends, still running when its Stop's time is up, leaves its
// record uncommitted in time for the member to leave the group, and Stop
// returns nil; the next member reads it at once.
func TestConformanceStopOutOfTimeGivesBack(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	bindertest.RunStopOutOfTimeGivesBack(t, bindertest.Harness{
		NewBinder:  func(t *testing.T) stream.Binder { return newBinder(t, c, nil) },
		Persistent: true,
		Duplicates: true,
	})
}
