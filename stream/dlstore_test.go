package stream_test

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// A replayed copy keeps the original headers, loses what dead-lettering
// added, counts the replay and gets an id of its own.
func TestReplayHeaders(t *testing.T) {
	dl := stream.Headers{
		"customer":                       "c-7",
		stream.HeaderContentType:         "application/json",
		stream.HeaderID:                  "m-1",
		stream.HeaderExceptionMessage:    "boom",
		stream.HeaderExceptionStacktrace: "*errors.errorString: boom",
		stream.HeaderExceptionFQCN:       "*errors.errorString",
		stream.HeaderOriginalTopic:       "orders",
		stream.HeaderOriginalExchange:    "orders",
		stream.HeaderTruncated:           "payload",
		stream.HeaderPayloadSize:         "12",
		stream.HeaderPayloadSHA256:       "ab",
		"x-delivery-count":               "2",
		"X-Acquired-Count":               "3",
	}
	got := stream.ReplayHeaders(dl)
	want := stream.Headers{"customer": "c-7", stream.HeaderContentType: "application/json",
		stream.HeaderReplayedID: "m-1", stream.HeaderReplayCount: "1"}
	if len(got) != len(want) {
		t.Fatalf("ReplayHeaders = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if dl[stream.HeaderReplayCount] != "" || dl[stream.HeaderID] != "m-1" {
		t.Error("ReplayHeaders changed its argument")
	}
	again := stream.ReplayHeaders(stream.Headers{stream.HeaderReplayCount: "2"})
	if again[stream.HeaderReplayCount] != "3" {
		t.Errorf("second replay count %q, want 3", again[stream.HeaderReplayCount])
	}
	// A copy replayed again, once more dead-lettered: the replayed id
	// stays the original's (m-1), not the copy's (m-2), whatever the
	// map's order: the idempotent consumer keys every copy on it.
	for range 50 {
		twice := stream.ReplayHeaders(stream.Headers{stream.HeaderID: "m-2", stream.HeaderReplayedID: "m-1", stream.HeaderReplayCount: "1", "a": "1", "b": "2", "c": "3"})
		if twice[stream.HeaderReplayedID] != "m-1" || twice[stream.HeaderID] != "" {
			t.Fatalf("replayed again: %s = %q, id %q; want m-1 and no id", stream.HeaderReplayedID, twice[stream.HeaderReplayedID], twice[stream.HeaderID])
		}
	}
	for _, bad := range []string{"", "x", "-4", " "} {
		if n := stream.ReplayCount(stream.Headers{stream.HeaderReplayCount: bad}); n != 0 {
			t.Errorf("ReplayCount(%q) = %d, want 0", bad, n)
		}
	}
}
