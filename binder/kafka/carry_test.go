package kafka

import (
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

// TestCarriedOffsetApplies: a generation goes on from the offset the one
// before settled and could not commit only while the group's committed
// offset is what the member knew, or one of its own commits whose answer
// was lost; otherwise (another member went further, an offset reset, a
// commit appeared where none was) the committed offset wins.
func TestCarriedOffsetApplies(t *testing.T) {
	for _, tc := range []struct {
		known, next, committed int64
		want                   bool
	}{
		{100, 500, 100, true},                                 // unchanged
		{100, 500, 300, true},                                 // its own commit, the answer lost
		{100, 500, 500, false},                                // committed already
		{100, 500, 700, false},                                // another member went further
		{100, 500, 50, false},                                 // moved back: a reset
		{kafkago.FirstOffset, 500, kafkago.FirstOffset, true}, // none committed, still none
		{kafkago.LastOffset, 500, kafkago.LastOffset, true},   // none committed (start at the latest), still none
		{kafkago.FirstOffset, 500, 200, false},                // a commit appeared
		{100, 500, kafkago.FirstOffset, false},                // the commit is gone (expired, deleted)
	} {
		co := carriedOffset{known: tc.known, next: tc.next}
		if got := co.applies(tc.committed); got != tc.want {
			t.Errorf("carried %+v, committed %d: applies %v, want %v", co, tc.committed, got, tc.want)
		}
	}
}
