package rabbit

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestPartitionHeaderIsAMQPInt: the scst_partition header is published as
// an AMQP int (signed 32-bit), as SCSt's producer sets it (an int from
// its PartitionHandler) and Spring AMQP maps an Integer header, not as
// the string "2"; a value that is no int stays a string. The consumer
// reads both as the text (headerString), messages written before too.
func TestPartitionHeaderIsAMQPInt(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want any
	}{
		{"2", int32(2)}, {"0", int32(0)}, {"-1", int32(-1)},
		{"02", "02"}, {"+2", "+2"}, {"2147483648", "2147483648"}, {"x", "x"},
	} {
		msg := toPublishing(stream.Envelope{Payload: []byte("{}"), Headers: stream.Headers{stream.HeaderPartition: tc.v}}, "application/json")
		if got := msg.Headers[stream.HeaderPartition]; got != tc.want {
			t.Errorf("%q: published as %#v, want %#v", tc.v, got, tc.want)
		}
		if got := headerString(msg.Headers[stream.HeaderPartition]); got != tc.v {
			t.Errorf("%q: reads back as %q", tc.v, got)
		}
	}
}
