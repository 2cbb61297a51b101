package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/streambind/streambind/stream"
)

func TestDeadLetterStacktraceListsEachErrorOnce(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	err := errors.New(long)
	for i := 0; i < 20; i++ {
		err = fmt.Errorf("level %d: %w", i, err)
	}
	h := stream.DeadLetterHeaders(nil, err)
	st := h[stream.HeaderExceptionStacktrace]
	if n := strings.Count(st, long); n != 1 {
		t.Fatalf("the root text appears %d times in the stacktrace, want 1", n)
	}
	if len(st) > len(long)+2000 {
		t.Fatalf("stacktrace is %d bytes for a %d-byte root", len(st), len(long))
	}
	lines := strings.Split(st, "\n")
	if len(lines) != 21 || lines[0] != "*fmt.wrapError: level 19" || !strings.HasPrefix(lines[20], "*errors.errorString: xxx") {
		t.Fatalf("stacktrace lines: %d, first %q", len(lines), lines[0])
	}
	if h[stream.HeaderExceptionMessage] != err.Error() || h[stream.HeaderExceptionFQCN] != "*errors.errorString" {
		t.Fatalf("message/fqcn: %q", h[stream.HeaderExceptionFQCN])
	}
}

func size(e stream.Envelope, overhead int) (hdr, total int) {
	for k, v := range e.Headers {
		hdr += len(k) + len(v) + overhead
	}
	return hdr, hdr + len(e.Payload) + len(e.Key)
}

func TestFitDeadLetter(t *testing.T) {
	bigErr := errors.New(strings.Repeat("e", 50_000))
	base := func(payload int, extra map[string]string) stream.Envelope {
		orig := stream.Headers{"id": "m1", "contentType": "application/json"}
		for k, v := range extra {
			orig[k] = v
		}
		h := stream.DeadLetterHeaders(orig, fmt.Errorf("charge: %w", bigErr))
		h[stream.HeaderOriginalTopic] = "orders"
		return stream.Envelope{Payload: make([]byte, payload), Key: []byte("k"), Headers: h}
	}
	t.Run("fits unchanged", func(t *testing.T) {
		e := base(10, nil)
		want := len(e.Headers)
		f := stream.FitDeadLetter(&e, stream.DeadLetterLimit{MaxBytes: 1 << 20})
		if !f.Fits || len(f.Cut) != 0 || len(e.Headers) != want || e.Headers[stream.HeaderTruncated] != "" {
			t.Fatalf("fit %+v", f)
		}
	})
	t.Run("exception texts cut", func(t *testing.T) {
		e := base(1000, nil)
		lim := stream.DeadLetterLimit{MaxBytes: 20_000, HeaderOverhead: 8}
		f := stream.FitDeadLetter(&e, lim)
		if _, total := size(e, 8); !f.Fits || total > lim.MaxBytes || f.HeadersOnly || len(e.Payload) != 1000 {
			t.Fatalf("fit %+v total %d", f, total)
		}
		if !strings.HasSuffix(e.Headers[stream.HeaderExceptionStacktrace], "…[cut]") || !strings.Contains(e.Headers[stream.HeaderTruncated], stream.HeaderExceptionStacktrace) {
			t.Fatalf("headers %v", e.Headers[stream.HeaderTruncated])
		}
	})
	t.Run("large original header dropped", func(t *testing.T) {
		e := base(10, map[string]string{"big": strings.Repeat("b", 130_000), "small": "s"})
		lim := stream.DeadLetterLimit{MaxHeaderBytes: 131072 - 20000}
		f := stream.FitDeadLetter(&e, lim)
		if hdr, _ := size(e, 0); !f.Fits || hdr > lim.MaxHeaderBytes || f.HeadersOnly {
			t.Fatalf("fit %+v hdr %d", f, hdr)
		}
		if _, ok := e.Headers["big"]; ok || e.Headers["small"] != "s" || e.Headers["id"] != "m1" || e.Headers[stream.HeaderOriginalTopic] != "orders" {
			t.Fatalf("headers kept: %v", e.Headers["small"])
		}
		if !strings.Contains(e.Headers[stream.HeaderTruncated], "header:big") {
			t.Fatalf("truncated = %q", e.Headers[stream.HeaderTruncated])
		}
	})
	t.Run("headers only", func(t *testing.T) {
		e := base(1<<20, nil)
		lim := stream.DeadLetterLimit{MaxBytes: 1 << 20}
		f := stream.FitDeadLetter(&e, lim)
		if _, total := size(e, 0); !f.Fits || !f.HeadersOnly || e.Payload != nil || total > lim.MaxBytes {
			t.Fatalf("fit %+v total %d", f, total)
		}
		if !strings.HasSuffix(e.Headers[stream.HeaderTruncated], "payload") || e.Headers[stream.HeaderOriginalTopic] != "orders" ||
			e.Headers[stream.HeaderPayloadSize] != "1048576" || len(e.Headers[stream.HeaderPayloadSHA256]) != 64 {
			t.Fatalf("truncated = %q", e.Headers[stream.HeaderTruncated])
		}
	})
	t.Run("payload over its own bound goes first", func(t *testing.T) {
		e := base(5000, map[string]string{"small": "s"})
		f := stream.FitDeadLetter(&e, stream.DeadLetterLimit{MaxPayloadBytes: 4096, MaxHeaderBytes: 1 << 20})
		if !f.Fits || !f.HeadersOnly || e.Payload != nil || e.Headers[stream.HeaderTruncated] != "payload" ||
			e.Headers["small"] != "s" || len(e.Headers[stream.HeaderExceptionStacktrace]) < 50_000 {
			t.Fatalf("fit %+v, truncated %q", f, e.Headers[stream.HeaderTruncated])
		}
	})
	t.Run("drop payload on request", func(t *testing.T) {
		e := base(10, nil)
		f := stream.FitDeadLetter(&e, stream.DeadLetterLimit{DropPayload: true})
		if !f.Fits || !f.HeadersOnly || e.Payload != nil || e.Key != nil || e.Headers[stream.HeaderTruncated] != "payload" {
			t.Fatalf("fit %+v", f)
		}
	})
	t.Run("payload larger than the record limit goes before the headers", func(t *testing.T) {
		e := base(200_000, nil)
		lim := stream.DeadLetterLimit{MaxBytes: 150_000}
		f := stream.FitDeadLetter(&e, lim)
		if _, total := size(e, 0); !f.Fits || !f.HeadersOnly || total > lim.MaxBytes || e.Headers[stream.HeaderTruncated] != "payload" {
			t.Fatalf("fit %+v total %d truncated %q", f, total, e.Headers[stream.HeaderTruncated])
		}
	})
	t.Run("nothing fits", func(t *testing.T) {
		e := base(100, nil)
		f := stream.FitDeadLetter(&e, stream.DeadLetterLimit{MaxBytes: 100})
		if f.Fits {
			t.Fatalf("fit %+v", f)
		}
	})
}

func TestDeadLetterStacktraceJoined(t *testing.T) {
	a, b := errors.New(strings.Repeat("a", 500)), errors.New("b failed")
	err := fmt.Errorf("save: %w", errors.Join(a, fmt.Errorf("rollback: %w", b)))
	h := stream.DeadLetterHeaders(nil, err)
	st := h[stream.HeaderExceptionStacktrace]
	want := "*fmt.wrapError: save\n*errors.joinError\n  *errors.errorString: " + strings.Repeat("a", 500) +
		"\n  *fmt.wrapError: rollback\n  *errors.errorString: b failed"
	if st != want {
		t.Fatalf("stacktrace:\n%s\nwant:\n%s", st, want)
	}
	if h[stream.HeaderExceptionFQCN] != "*errors.errorString" {
		t.Fatalf("fqcn %q", h[stream.HeaderExceptionFQCN])
	}
}

func TestFailureLogLineIsBounded(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	fns := stream.NewCatalog()
	done := make(chan struct{}, 1)
	stream.AddConsumer(fns, "sink", func(context.Context, string) error {
		defer func() { done <- struct{}{} }()
		return stream.Permanent(errors.New(strings.Repeat("x", 100_000)))
	})
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: "in", Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{DLQ: true}}}}
	r := start(t, cfg, fns, stream.WithLogger(log))
	if err := r.app.Bridge().Send(context.Background(), "in", "poison"); err != nil {
		t.Fatal(err)
	}
	recv(t, done)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, line := range strings.Split(buf.String(), "\n") {
		if len(line) > 4096 {
			t.Fatalf("a %d-byte log line: %.200s…", len(line), line)
		}
	}
	if !strings.Contains(buf.String(), "bytes cut]") {
		t.Fatal("no cut error text in the log")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestDeadLetterMessageWithoutPermanentMarker: stream.Permanent only says
// "do not retry"; x-exception-message is the error's own text, as SCSt's
// is the exception's, and the stack trace leaves the marker out (it
// started "*stream.PermanentError: permanent"); the error's text, which
// logs and the CLI print, adds no "permanent: " either, and errors.Is and
// errors.As still tell it.
func TestDeadLetterMessageWithoutPermanentMarker(t *testing.T) {
	cause := errors.New("quantity 0: invalid order")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{stream.Permanent(cause), "quantity 0: invalid order"},
		{stream.Permanent(stream.Permanent(cause)), "quantity 0: invalid order"},
		{fmt.Errorf("order o-1: %w", stream.Permanent(cause)), "order o-1: quantity 0: invalid order"},
	} {
		h := stream.DeadLetterHeaders(nil, tc.err)
		if got := h[stream.HeaderExceptionMessage]; got != tc.want {
			t.Errorf("%v: x-exception-message %q, want %q", tc.err, got, tc.want)
		}
		if st := h[stream.HeaderExceptionStacktrace]; strings.Contains(st, "PermanentError") || strings.Contains(st, "permanent") {
			t.Errorf("%v: stack trace shows the marker: %q", tc.err, st)
		}
		if tc.err.Error() != tc.want {
			t.Errorf("error text %q, want %q", tc.err.Error(), tc.want)
		}
		var pe *stream.PermanentError
		if !stream.IsPermanent(tc.err) || !errors.As(tc.err, &pe) || !errors.Is(tc.err, cause) {
			t.Errorf("%v: no longer tells Is/As", tc.err)
		}
	}
	if h := stream.DeadLetterHeaders(nil, stream.Permanent(cause)); h[stream.HeaderExceptionStacktrace] != "*errors.errorString: quantity 0: invalid order" || h[stream.HeaderExceptionFQCN] != "*errors.errorString" {
		t.Errorf("stack trace %q, fqcn %q", h[stream.HeaderExceptionStacktrace], h[stream.HeaderExceptionFQCN])
	}
}
