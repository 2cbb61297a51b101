package dlcount

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

func TestCounts(t *testing.T) {
	var d Counts
	d.Fitted(stream.DeadLetterFit{Fits: true})                                              // nothing cut: not counted
	d.Fitted(stream.DeadLetterFit{Fits: true, Cut: []string{"payload"}, HeadersOnly: true}) // truncated, headers only
	d.Fitted(stream.DeadLetterFit{Fits: true, Cut: []string{"x-exception-stacktrace"}})     // truncated
	// A refit of a dead letter that first fitted whole, now without payload:
	// one more truncated, one more headers-only.
	d.Refitted(stream.DeadLetterFit{Fits: true}, stream.DeadLetterFit{Fits: true, Cut: []string{"payload"}, HeadersOnly: true})
	// A refit of one already cut: only headers-only is new.
	d.Refitted(stream.DeadLetterFit{Fits: true, Cut: []string{"id"}}, stream.DeadLetterFit{Fits: true, Cut: []string{"id", "payload"}, HeadersOnly: true})
	d.Dropped()
	want := stream.DeadLetterStats{Truncated: 3, HeadersOnly: 3, Dropped: 1}
	if got := d.Stats(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
