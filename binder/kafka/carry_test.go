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
		tried                  []int64
		want                   bool
	}{
		{100, 500, 100, nil, true},                                 // unchanged
		{100, 500, 300, []int64{300}, true},                        // its own commit, the answer lost
		{100, 500, 300, []int64{250}, false},                       // not its commit: a reset between
		{100, 500, 500, []int64{500}, false},                       // committed already
		{100, 500, 700, nil, false},                                // another member went further
		{100, 500, 50, nil, false},                                 // moved back: a reset
		{kafkago.FirstOffset, 500, kafkago.FirstOffset, nil, true}, // none committed, still none
		{kafkago.LastOffset, 500, kafkago.LastOffset, nil, true},   // none committed (start at the latest), still none
		{kafkago.FirstOffset, 500, 200, nil, false},                // a commit appeared
		{kafkago.FirstOffset, 500, 200, []int64{200}, true},        // its own first commit, the answer lost
		{100, 500, kafkago.FirstOffset, []int64{300}, false},       // the commit is gone (expired, deleted)
	} {
		co := carriedOffset{known: tc.known, next: tc.next, tried: tc.tried}
		if got := co.applies(tc.committed); got != tc.want {
			t.Errorf("carried %+v, committed %d: applies %v, want %v", co, tc.committed, got, tc.want)
		}
	}
}
