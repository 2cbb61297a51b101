package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// panickingSupplierForStackTest, panickingFunctionForStackTest and
// panickingSourceForStackTest panic; their names are looked for in the
// logged stack.
func panickingSupplierForStackTest(calls *atomic.Int64, fourth chan<- struct{}) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		if calls.Add(1) == 4 {
			close(fourth)
		}
		panic("supplier boom")
	}
}

func panickingFunctionForStackTest(calls *atomic.Int64, fourth chan<- struct{}) func(context.Context, string) (string, error) {
	return func(context.Context, string) (string, error) {
		if calls.Add(1) == 4 {
			close(fourth)
		}
		panic("function boom")
	}
}

func panickingSourceForStackTest(ctx context.Context, _ stream.Emitter[string]) error {
	panic("source boom")
}

// TestSupplierPanicStackLogged: a panic of a polled supplier, of a
// function composed after one, or of a source is logged with its stack as
// an input handler's is (TestPanicStackInDeadLetterAndLog): an ERROR
// 'handler panicked' with the attribute stack, naming the output binding,
// paced per binding (the panics after the first within the second at
// DEBUG); 'supplier failed', 'composed supplier failed' and 'source ended
// with an error' keep the error's text only. Before, a supplier's or
// source's panic logged only its error, its stack nowhere.
func TestSupplierPanicStackLogged(t *testing.T) {
	for _, c := range []struct{ def, fn, failed string }{
		{"tick", "panickingSupplierForStackTest", "supplier failed"},
		{"tick|same", "panickingSupplierForStackTest", "supplier failed"},
		{"ok|crash", "panickingFunctionForStackTest", "composed supplier failed"},
		{"src", "panickingSourceForStackTest", "source ended with an error"},
	} {
		t.Run(c.def, func(t *testing.T) {
			var calls atomic.Int64
			fourth := make(chan struct{})
			fns := stream.NewCatalog()
			stream.AddSupplier(fns, "tick", panickingSupplierForStackTest(&calls, fourth))
			stream.AddFunction(fns, "same", func(_ context.Context, s string) (string, error) { return s, nil })
			stream.AddSupplier(fns, "ok", func(context.Context) (string, error) { return "v", nil })
			stream.AddFunction(fns, "crash", panickingFunctionForStackTest(&calls, fourth))
			stream.AddSource(fns, "src", panickingSourceForStackTest)
			out := strings.ReplaceAll(c.def, "|", "") + "-out-0"
			cfg := &stream.Config{
				Function: stream.FunctionConfig{Definition: c.def},
				Bindings: map[string]stream.BindingConfig{out: {Destination: "d-" + out, Producer: stream.ProducerConfig{
					Poller: stream.PollerConfig{FixedDelay: time.Millisecond}}}},
			}
			var logs syncbuf.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			r := startOn(t, newBroker(t), cfg, fns, log)
			source := c.def == "src"
			if source {
				// The source's panic is logged before its runner returns,
				// which the app's stop waits for.
				deadline := time.Now().Add(wait)
				for !strings.Contains(logs.String(), c.failed) && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
			} else {
				select {
				case <-fourth: // three panics logged, the poller being one goroutine
				case <-time.After(wait):
					t.Fatalf("the supplier was not called 4 times; logs:\n%s", logs.String())
				}
			}
			if err := r.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			panics := 1
			if !source {
				panics = int(calls.Load())
			}
			var errorLines, stackLines, failedLines int
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "msg=\""+c.failed+"\"") {
					failedLines++
					if strings.Contains(l, "stack=") || strings.Contains(l, "goroutine ") {
						t.Errorf("a stack in the %q line: %s", c.failed, l)
					}
				}
				if !strings.Contains(l, "stack=") {
					continue
				}
				stackLines++
				if !strings.Contains(l, `msg="handler panicked"`) || !strings.Contains(l, c.fn) || !strings.Contains(l, "binding="+out) || strings.Contains(l, "attempt=") {
					t.Errorf("the stack line lacks its message, the stack of %s or binding=%s: %s", c.fn, out, l)
				}
				if strings.Contains(l, "level=ERROR") {
					errorLines++
				}
			}
			if failedLines != panics || stackLines != panics || errorLines < 1 || (panics > 1 && errorLines >= panics) {
				t.Errorf("%d panics: %d %q lines, %d lines with the stack of which %d ERROR; want one each per panic, the stack lines paced (the first ERROR, not all):\n%s",
					panics, failedLines, c.failed, stackLines, errorLines, logs.String())
			}
		})
	}
}
