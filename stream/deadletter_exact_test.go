package stream_test

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestFitDeadLetterExactlyAtLimit: a dead letter that fits to the byte
// once a header the broker cannot carry is left out (NATS: another
// client's header name) keeps its payload and its other headers.
// FitDeadLetter reserved 128 bytes of slack for the truncation header's
// entries once it cut anything, so such a dead letter, within 128 bytes
// of the limit, lost its headers and payload for nothing.
func TestFitDeadLetterExactlyAtLimit(t *testing.T) {
	const ovh = 4
	build := func() stream.Envelope {
		h := stream.DeadLetterHeaders(stream.Headers{"id": "m-1", "bad name": "v", "tenant": "acme"}, errors.New("boom"))
		return stream.Envelope{Payload: make([]byte, 1000), Headers: h}
	}
	e := build()
	hdr, _ := size(e, ovh)
	// The fitted dead letter: without "bad name", with the truncation
	// header naming it.
	exact := hdr - (len("bad name") + len("v") + ovh) + len(stream.HeaderTruncated) + len("header:bad name") + ovh + len(e.Payload)
	unsendable := func(k string) bool { return k == "bad name" }
	for _, tc := range []struct {
		limit int
		whole bool
	}{{exact, true}, {exact + 50, true}, {exact - 1, false}} {
		e := build()
		lim := stream.DeadLetterLimit{MaxBytes: tc.limit, HeaderOverhead: ovh, Unsendable: unsendable}
		f := stream.FitDeadLetter(&e, lim)
		_, total := size(e, ovh)
		if !f.Fits || total > tc.limit {
			t.Fatalf("limit %d: fit %v, %d bytes", tc.limit, f.Fits, total)
		}
		kept := !f.HeadersOnly && e.Headers["tenant"] == "acme" && len(e.Payload) == 1000
		if kept != tc.whole {
			t.Errorf("limit %d (exact %d): payload and tenant kept %v, want %v; cut %v", tc.limit, exact, kept, tc.whole, f.Cut)
		}
	}
}
