package streamtest_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// endingTest is a testing.TB whose cleanups run when end is called, and
// which records its failures, its output (Output) and its Log calls, so
// that a test can check how the harness ends a test.
type endingTest struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	errs     []string
	failed   bool
	out      strings.Builder
	logs     []string
}

func (r *endingTest) Helper()                      {}
func (r *endingTest) Cleanup(f func())             { r.cleanups = append(r.cleanups, f) }
func (r *endingTest) Output() io.Writer            { return writerFunc(r.write) }
func (r *endingTest) Log(args ...any)              { r.record(&r.logs, fmt.Sprint(args...)) }
func (r *endingTest) Error(args ...any)            { r.fail(fmt.Sprint(args...)) }
func (r *endingTest) Errorf(f string, args ...any) { r.fail(fmt.Sprintf(f, args...)) }
func (r *endingTest) Fatalf(f string, args ...any) {
	r.fail(fmt.Sprintf(f, args...))
	runtime.Goexit()
}

func (r *endingTest) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *endingTest) fail(msg string) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	r.record(&r.errs, msg)
}

func (r *endingTest) record(to *[]string, msg string) {
	r.mu.Lock()
	*to = append(*to, msg)
	r.mu.Unlock()
}

func (r *endingTest) write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(p)
}

func (r *endingTest) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// end runs the cleanups, last first, as the test's end does.
func (r *endingTest) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// waitingApp runs a handler that returns only when its context ends, and
// says when it started.
func waitingApp() (*stream.Config, *stream.Catalog, chan struct{}) {
	started := make(chan struct{}, 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "wait", func(ctx context.Context, p string) (string, error) {
		started <- struct{}{}
		<-ctx.Done()
		return p, ctx.Err()
	})
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "wait"},
		Bindings: map[string]stream.BindingConfig{"wait-in-0": {Destination: "in", Group: "g"}, "wait-out-0": {Destination: "out"}}}
	return cfg, fns, started
}

// A test that ends with a handler running fails once, saying so, after
// streamtest's shutdown-timeout (2s), not the app's 10s; and it failed
// with the binder's error chain, also about its close ("previous run
// still finishing"). A test that failed already logs it instead.
func TestEndWithHandlerRunning(t *testing.T) {
	for _, failed := range []bool{false, true} {
		t.Run(fmt.Sprint("failed=", failed), func(t *testing.T) {
			cfg, fns, started := waitingApp()
			r := &endingTest{TB: t}
			env := streamtest.Start(r, cfg, fns)
			env.Send(r, "wait-in-0", "x")
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler did not start")
			}
			if failed {
				r.fail("the test's own failure")
			}
			begin := time.Now()
			r.end()
			// The default (streamtest.ShutdownTimeout, 2s) plus
			// room for a loaded machine, well short of the app's 10s.
			if d := time.Since(begin); d > 2*time.Second+3*time.Second {
				t.Errorf("the test's end took %s", d)
			}
			want := "streamtest: handler of wait-in-0 still running at the end of the test: its context is cancelled after stream.shutdown-timeout (2s in streamtest unless set)"
			errs := strings.Join(r.errs, "\n")
			if failed {
				if errs != "the test's own failure" {
					t.Errorf("failures: %q, want the test's own only", errs)
				}
				if !strings.Contains(r.output(), want) {
					t.Errorf("output does not log %q:\n%s", want, r.output())
				}
				return
			}
			if len(r.errs) != 1 || !strings.HasPrefix(errs, want) || strings.Contains(errs, "previous run still finishing") {
				t.Errorf("failures: %q, want one starting %q", r.errs, want)
			}
		})
	}
}

// The app's log lines go to the test's Output (no file:line of the
// harness's on each), not to t.Log.
func TestAppLogsToOutput(t *testing.T) {
	cfg, fns := shop()
	r := &endingTest{TB: t}
	env := streamtest.Start(r, cfg, fns)
	env.Send(r, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 1})
	streamtest.Receive[Payment](r, env, "chargePayment-out-0")
	r.end()
	if out := r.output(); !strings.Contains(out, `msg="stream app started"`) || !strings.Contains(out, `msg="binding stopped"`) {
		t.Errorf("the app's lines are not in Output:\n%s", out)
	}
	if len(r.logs) > 0 || len(r.errs) > 0 {
		t.Errorf("Log calls %q, failures %q", r.logs, r.errs)
	}
}
