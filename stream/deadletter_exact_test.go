package stream_test

import (
	"errors"
	"strings"
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

// TestFitDeadLetterLongIDsStayDistinct: two ids of kilobytes that differ
// only at their end (a common prefix, a unique suffix) stay distinct when
// cut to fit: cut to their first bytes alone they became one id, and a
// consumer of the dead letters deduplicating by id skipped the second.
func TestFitDeadLetterLongIDsStayDistinct(t *testing.T) {
	prefix := strings.Repeat("tenant/orders/", 200)
	ids := map[string]bool{}
	for _, id := range []string{prefix + "0001", prefix + "0002"} {
		e := stream.Envelope{Payload: []byte("p"), Headers: stream.DeadLetterHeaders(stream.Headers{stream.HeaderID: id}, errors.New("boom"))}
		lim := stream.DeadLetterLimit{MaxBytes: 2048, HeaderOverhead: 4}
		f := stream.FitDeadLetter(&e, lim)
		got := e.Headers[stream.HeaderID]
		if _, total := size(e, lim.HeaderOverhead); !f.Fits || total > lim.MaxBytes || len(got) >= len(id) || !strings.HasPrefix(got, "tenant/orders/") {
			t.Fatalf("fit %v, %d bytes, id %d bytes; want a fit with the id cut", f.Fits, total, len(got))
		}
		ids[got] = true
	}
	if len(ids) != 2 {
		t.Errorf("the two cut ids are one: %v", ids)
	}
}

// TestFitDeadLetterLongNamedKeptHeader: a kept header (another tool's
// x-original-*) whose name is longer than what cutting its value saves is
// left whole: cut, the entry naming it in x-streambind-truncated made the
// dead letter bigger, and its payload went too.
func TestFitDeadLetterLongNamedKeptHeader(t *testing.T) {
	const ovh = 4
	long := "x-original-" + strings.Repeat("n", 1500)
	build := func() stream.Envelope {
		h := stream.DeadLetterHeaders(stream.Headers{"id": "m-1", long: strings.Repeat("v", 300), "tenant": strings.Repeat("t", 100)}, errors.New("boom"))
		return stream.Envelope{Payload: make([]byte, 100), Headers: h}
	}
	e := build()
	_, total := size(e, ovh)
	// Room for all but the tenant header, named in x-streambind-truncated.
	limit := total - (len("tenant") + 100 + ovh) + len(stream.HeaderTruncated) + len("header:tenant") + ovh
	f := stream.FitDeadLetter(&e, stream.DeadLetterLimit{MaxBytes: limit, HeaderOverhead: ovh})
	if _, got := size(e, ovh); !f.Fits || got > limit || f.HeadersOnly || len(e.Headers[long]) != 300 {
		t.Errorf("fit %v, %d bytes of %d, headers-only %v, %s… %d bytes; want the payload and the long-named header kept, cut %v",
			f.Fits, got, limit, f.HeadersOnly, long[:14], len(e.Headers[long]), f.Cut)
	}
}
