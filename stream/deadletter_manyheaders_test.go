package stream_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestFitDeadLetterManySmallHeaders: a message whose headers are thousands
// of small ones (as a NATS header block of 3,255 headers, 65,100 bytes,
// just under the 65,535 JetStream stores) makes a dead letter that fits
// once some are dropped. x-streambind-truncated named every dropped header,
// so each drop added more to it than it saved: FitDeadLetter said the dead
// letter did not fit at all, and the binder dropped the failed message.
// Now the names stop at 1 KiB and the rest are counted.
func TestFitDeadLetterManySmallHeaders(t *testing.T) {
	orig := stream.Headers{"id": "m-1", "contentType": "application/json"}
	for i := range 3255 {
		orig[fmt.Sprintf("x-h%012d", i)] = "v"
	}
	h := stream.DeadLetterHeaders(orig, errors.New("always fails"))
	h[stream.HeaderOriginalTopic] = "orders"
	e := stream.Envelope{Payload: []byte(`{"n":1}`), Headers: h}
	lim := stream.DeadLetterLimit{MaxBytes: 1 << 20, MaxHeaderBytes: 65000, HeaderOverhead: 4}
	f := stream.FitDeadLetter(&e, lim)
	hdr, _ := size(e, lim.HeaderOverhead)
	tr := e.Headers[stream.HeaderTruncated]
	if !f.Fits || f.HeadersOnly || hdr > lim.MaxHeaderBytes {
		t.Fatalf("fit %v (headers-only %v), headers %d bytes of %d: want a fit with the payload kept", f.Fits, f.HeadersOnly, hdr, lim.MaxHeaderBytes)
	}
	if len(tr) > 1200 || !strings.HasPrefix(tr, "header:") || !strings.Contains(tr, ",headers:") {
		t.Errorf("%s (%d bytes) = %.120q…, want at most ~1 KiB of names then a count", stream.HeaderTruncated, len(tr), tr)
	}
	if e.Headers[stream.HeaderExceptionMessage] != "always fails" || e.Headers["id"] != "m-1" {
		t.Errorf("the exception and id headers are gone: %q %q", e.Headers[stream.HeaderExceptionMessage], e.Headers["id"])
	}
	if len(f.Cut) > 100 {
		t.Errorf("Cut has %d entries (the WARN line prints them): want the dropped headers counted past 1 KiB of names", len(f.Cut))
	}
}

// TestFitDeadLetterManyHeadersTime: fitting a dead letter by dropping
// 40,000 headers took 20 s (each drop measured every header and joined the
// whole list again); it takes milliseconds.
func TestFitDeadLetterManyHeadersTime(t *testing.T) {
	orig := stream.Headers{}
	for i := range 40000 {
		orig[fmt.Sprintf("h%06d", i)] = strings.Repeat("v", 20)
	}
	e := stream.Envelope{Payload: []byte("p"), Headers: stream.DeadLetterHeaders(orig, errors.New("boom"))}
	start := time.Now()
	f := stream.FitDeadLetter(&e, stream.DeadLetterLimit{MaxBytes: 4096, HeaderOverhead: 4})
	took := time.Since(start)
	if !f.Fits || took > 2*time.Second {
		t.Errorf("fit %v in %v, want a fit in well under 2s", f.Fits, took)
	}
	t.Logf("40,000 headers dropped in %v", took)
}

// TestFitDeadLetterHugeHeaderName: a header whose name alone is over the
// limit is dropped and counted, not named: named in
// x-streambind-truncated, it kept the dead letter over the limit, and
// the failed message was dropped.
func TestFitDeadLetterHugeHeaderName(t *testing.T) {
	orig := stream.Headers{strings.Repeat("n", 100<<10): "v", "small": "s"}
	e := stream.Envelope{Payload: []byte("p"), Headers: stream.DeadLetterHeaders(orig, errors.New("boom"))}
	lim := stream.DeadLetterLimit{MaxBytes: 64 << 10, HeaderOverhead: 4}
	f := stream.FitDeadLetter(&e, lim)
	if _, total := size(e, lim.HeaderOverhead); !f.Fits || total > lim.MaxBytes || e.Headers["small"] != "s" || string(e.Payload) != "p" {
		t.Fatalf("fit %v, %d bytes, headers %d; want a fit keeping the payload and the small header", f.Fits, total, len(e.Headers))
	}
	if tr := e.Headers[stream.HeaderTruncated]; tr != "headers:1" {
		t.Errorf("%s = %.100q, want headers:1", stream.HeaderTruncated, tr)
	}
}

// TestFitDeadLetterLongKeptHeaders: headers FitDeadLetter keeps to the end
// (an id and a content type of kilobytes, as another client may write)
// are shortened as a last resort; the dead letter was refused as not
// fitting at all, and the failed message dropped.
func TestFitDeadLetterLongKeptHeaders(t *testing.T) {
	orig := stream.Headers{stream.HeaderID: strings.Repeat("i", 3000), stream.HeaderContentType: "text/" + strings.Repeat("x", 3000)}
	e := stream.Envelope{Payload: []byte("p"), Headers: stream.DeadLetterHeaders(orig, errors.New("boom"))}
	e.Headers[stream.HeaderOriginalTopic] = "orders"
	lim := stream.DeadLetterLimit{MaxBytes: 2048, HeaderOverhead: 4}
	f := stream.FitDeadLetter(&e, lim)
	if _, total := size(e, lim.HeaderOverhead); !f.Fits || total > lim.MaxBytes {
		t.Fatalf("fit %v, %d bytes of %d; want a fit", f.Fits, total, lim.MaxBytes)
	}
	tr := e.Headers[stream.HeaderTruncated]
	if !strings.Contains(tr, stream.HeaderID) || !strings.HasPrefix(e.Headers[stream.HeaderID], "iii") || !strings.Contains(e.Headers[stream.HeaderID], "…[cut sha256:") ||
		e.Headers[stream.HeaderOriginalTopic] != "orders" || e.Headers[stream.HeaderExceptionMessage] != "boom" || string(e.Payload) != "p" {
		t.Errorf("%s = %q, id %d bytes, payload %q; want the long values cut, the short ones and the payload kept", stream.HeaderTruncated, tr, len(e.Headers[stream.HeaderID]), e.Payload)
	}
}
