package kafka

import (
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

// TestAppendJSONTypesNoAlloc: the producer's types header costs no
// allocation per record once its buffer (kept in the pooled sendReq) has
// grown, and lists a repeated header once.
func TestAppendJSONTypesNoAlloc(t *testing.T) {
	hs := []kafkago.Header{{Key: "x-b", Value: []byte("1")}, {Key: "contentType", Value: []byte("application/json")},
		{Key: "x-b", Value: []byte("2")}, {Key: "id", Value: []byte("0f8b")}, {Key: "bin", Value: []byte{0xff}}}
	scratch := make([]kafkago.Header, 0, len(hs)+1)
	var buf []byte
	out, buf := appendJSONTypes(append(scratch[:0], hs...), buf)
	const want = `{"contentType":"java.lang.String","id":"java.lang.String","x-b":"java.lang.String"}`
	if got := string(out[len(out)-1].Value); out[len(out)-1].Key != headerJSONTypes || got != want {
		t.Fatalf("types header %s = %s, want %s", out[len(out)-1].Key, got, want)
	}
	if a := testing.AllocsPerRun(100, func() { _, buf = appendJSONTypes(append(scratch[:0], hs...), buf) }); a != 0 {
		t.Errorf("appendJSONTypes: %v allocations per record, want 0", a)
	}
}
