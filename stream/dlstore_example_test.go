package stream_test

import (
	"fmt"

	"github.com/streambind/streambind/stream"
)

// The headers of a dead letter's replayed copy: the original headers, the
// replay counted, the dead-letter headers and the id gone (the id moves to
// x-streambind-replayed-id).
func ExampleReplayHeaders() {
	dead := stream.Headers{
		"customer":                    "c-7",
		stream.HeaderID:               "m-1",
		stream.HeaderExceptionMessage: "card declined",
		stream.HeaderOriginalTopic:    "orders",
	}
	copy1 := stream.ReplayHeaders(dead)
	fmt.Println(copy1["customer"], copy1[stream.HeaderReplayCount], copy1[stream.HeaderReplayedID], copy1[stream.HeaderExceptionMessage] == "")
	// Dead-lettered again, it keeps the count; the next replay adds one.
	fmt.Println(stream.ReplayCount(stream.ReplayHeaders(copy1)))
	// Output:
	// c-7 1 m-1 true
	// 2
}
