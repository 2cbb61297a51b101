package stream_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestFitDeadLetterKeyHeader: a key sent as a header (RabbitMQ's
// x-streambind-key, DeadLetterLimit.KeyHeader) is fitted with the
// headers: kept whole when it fits, as the key; dropped, largest first as
// a header, when it does not, listed as "key" with its size in
// x-streambind-key-size (it was dropped as an anonymous
// header:x-streambind-key); not dropped with the payload.
func TestFitDeadLetterKeyHeader(t *testing.T) {
	dl := func(key int) stream.Envelope {
		h := stream.DeadLetterHeaders(stream.Headers{"id": "m1", "x-small": "s"}, errors.New("rejected"))
		return stream.Envelope{Payload: []byte("payload"), Key: []byte(strings.Repeat("k", key)), Headers: h}
	}
	lim := stream.DeadLetterLimit{MaxHeaderBytes: 1000, HeaderOverhead: 6, KeyHeader: "x-key"}

	e := dl(100)
	f := stream.FitDeadLetter(&e, lim)
	if !f.Fits || len(f.Cut) != 0 || f.KeyDropped || len(e.Key) != 100 {
		t.Fatalf("small key: fit %+v, key %d bytes", f, len(e.Key))
	}
	if _, ok := e.Headers["x-key"]; ok {
		t.Fatal("small key: left as a header too")
	}

	e = dl(2000)
	f = stream.FitDeadLetter(&e, lim)
	if !f.Fits || !f.KeyDropped || f.HeadersOnly || e.Key != nil || string(e.Payload) != "payload" {
		t.Fatalf("large key: fit %+v, key %d bytes, payload %q", f, len(e.Key), e.Payload)
	}
	if e.Headers[stream.HeaderTruncated] != "key" || e.Headers[stream.HeaderKeySize] != "2000" || e.Headers["x-small"] != "s" {
		t.Fatalf("large key: headers %v", e.Headers)
	}
	if _, ok := e.Headers["x-key"]; ok {
		t.Fatal("large key: left as a header")
	}
	if h := stream.ReplayHeaders(e.Headers); h[stream.HeaderKeySize] != "" {
		t.Fatalf("replayed copy keeps %s: %v", stream.HeaderKeySize, h)
	}

	// A payload dropped (max-message-size on RabbitMQ) leaves the key,
	// which is not in the body.
	e = dl(100)
	l := lim
	l.DropPayload = true
	f = stream.FitDeadLetter(&e, l)
	if !f.Fits || !f.HeadersOnly || f.KeyDropped || len(e.Key) != 100 || len(e.Payload) != 0 {
		t.Fatalf("payload dropped: fit %+v, key %d bytes, payload %d", f, len(e.Key), len(e.Payload))
	}
}
