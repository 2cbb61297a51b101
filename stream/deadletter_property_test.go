package stream_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/streambind/streambind/stream"
)

// TestFitDeadLetterProperty: whenever FitDeadLetter says Fits, the
// dead letter (x-streambind-truncated included) is within every bound.
func TestFitDeadLetterProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fails := 0
	for i := 0; i < 20000 && fails < 10; i++ {
		orig := stream.Headers{}
		for j := r.IntN(8); j > 0; j-- {
			orig[fmt.Sprintf("h%d", j)] = strings.Repeat("é", r.IntN(400))
		}
		if r.IntN(3) == 0 {
			orig["id"] = strings.Repeat("i", r.IntN(300))
		}
		err := errors.New(strings.Repeat("€", r.IntN(2000)))
		h := stream.DeadLetterHeaders(orig, fmt.Errorf("w: %w", err))
		h[stream.HeaderOriginalTopic] = "t"
		e := stream.Envelope{Payload: make([]byte, r.IntN(3000)), Key: make([]byte, r.IntN(50)), Headers: h}
		lim := stream.DeadLetterLimit{HeaderOverhead: r.IntN(12)}
		switch r.IntN(3) {
		case 0:
			lim.MaxBytes = r.IntN(8000)
		case 1:
			lim.MaxHeaderBytes = r.IntN(8000)
		case 2:
			lim.MaxBytes, lim.MaxHeaderBytes, lim.MaxPayloadBytes = r.IntN(8000), r.IntN(8000), r.IntN(3000)
		}
		before := fmt.Sprint(lim)
		f := stream.FitDeadLetter(&e, lim)
		hdr, total := size(e, lim.HeaderOverhead)
		for k, v := range e.Headers {
			if !utf8.ValidString(v) {
				t.Errorf("header %s not valid UTF-8 after cut", k)
			}
		}
		if !f.Fits {
			continue
		}
		if (lim.MaxHeaderBytes > 0 && hdr > lim.MaxHeaderBytes) || (lim.MaxBytes > 0 && total > lim.MaxBytes) ||
			(lim.MaxPayloadBytes > 0 && len(e.Payload)+len(e.Key) > lim.MaxPayloadBytes) {
			fails++
			t.Errorf("Fits but over: lim %s hdr %d total %d payload %d cut %v", before, hdr, total, len(e.Payload)+len(e.Key), f.Cut)
		}
	}
}

// TestStacktraceCauseFirstWrap: the conventions promise that in
// x-exception-stacktrace "every text appears once". Errors that wrap with
// the cause first ("%w: while X", "%w (attempt 3)") repeat it per level.
func TestStacktraceCauseFirstWrap(t *testing.T) {
	root := strings.Repeat("r", 1000)
	err := errors.New(root)
	for i := range 10 {
		err = fmt.Errorf("%w (attempt %d)", err, i)
	}
	st := stream.DeadLetterHeaders(nil, err)[stream.HeaderExceptionStacktrace]
	if n := strings.Count(st, root); n != 1 {
		t.Errorf("root text appears %d times (stacktrace %d bytes for a %d-byte root)", n, len(st), len(root))
	}
}
