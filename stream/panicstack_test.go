package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// panickingHandlerForStackTest panics; its name is looked for in the
// stack.
func panickingHandlerForStackTest(context.Context, string) error { panic("boom") }

// TestPanicStackInDeadLetterAndLog: a handler panic's goroutine stack is
// in its dead letter's x-exception-stacktrace (after the error chain's
// line, as SCSt's header is the exception's stack trace) and in one ERROR
// line (attribute stack), logged when the panic is caught; the other
// attempts' panics are paced (DEBUG), and the dead-letter WARN gives the
// error's text only. Before, the stack was nowhere: the header read
// "*stream.PanicError: handler panic: boom" and the logs error="handler
// panic: boom".
func TestPanicStackInDeadLetterAndLog(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "charge", panickingHandlerForStackTest)
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "charge"},
		Bindings: map[string]stream.BindingConfig{"charge-in-0": {Destination: "orders", Group: "g",
			ContentType: "text/plain",
			Consumer:    stream.ConsumerConfig{DLQ: true, MaxAttempts: 3, BackOffInitialInterval: 1, BackOffMaxInterval: 1, BackOffMultiplier: 1}}},
	}
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := streamtest.Start(t, cfg, fns, stream.WithLogger(log))
	env.Send(t, "charge-in-0", "order-1")
	dl, err := env.DeadLetter("charge-in-0")
	if err != nil {
		t.Fatal(err)
	}
	st := dl.Headers[stream.HeaderExceptionStacktrace]
	for _, want := range []string{"*stream.PanicError: handler panic: boom\ngoroutine ", "panickingHandlerForStackTest", "panicstack_test.go:"} {
		if !strings.Contains(st, want) {
			t.Errorf("x-exception-stacktrace lacks %q:\n%s", want, st)
		}
	}
	env.Drain(t)
	var errorLines, stackLines int
	for _, l := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(l, "stack=") {
			if strings.Contains(l, "goroutine ") {
				t.Errorf("a stack outside the stack attribute: %s", l)
			}
			continue
		}
		stackLines++
		if strings.Contains(l, "level=ERROR") {
			errorLines++
			if !strings.Contains(l, "panickingHandlerForStackTest") || !strings.Contains(l, "binding=charge-in-0") {
				t.Errorf("the ERROR line's stack or binding is missing: %s", l)
			}
		}
	}
	if errorLines != 1 || stackLines != 3 {
		t.Errorf("%d ERROR lines and %d lines in all with the stack, want 1 and 3 (one per panic, paced):\n%s", errorLines, stackLines, logs.String())
	}
}

// TestPanicStackBounded: a huge panic stack is cut in
// x-exception-stacktrace to 16 KiB, marked, keeping the frames nearest the
// panic (the binders then fit the dead letter to their broker's limits).
func TestPanicStackBounded(t *testing.T) {
	stack := "goroutine 7 [running]:\nmain.top()\n" + strings.Repeat("main.deep(...)\n\t/src/x.go:1 +0x1\n", 20000)
	h := stream.DeadLetterHeaders(nil, &stream.PanicError{Value: "boom", Stack: []byte(stack)})
	st := h[stream.HeaderExceptionStacktrace]
	if len(st) > 17<<10 || !strings.HasSuffix(st, "…[cut]") || !strings.Contains(st, "goroutine 7 [running]:\nmain.top()") {
		t.Errorf("x-exception-stacktrace of %d bytes (want at most 17 KiB, the top kept, marked cut): %.200s…%s", len(st), st, st[max(0, len(st)-50):])
	}
}
