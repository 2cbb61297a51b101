package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

type fakeRun struct {
	done    chan struct{}
	stopErr error
	calls   []string
}

func newFake() *fakeRun { return &fakeRun{done: make(chan struct{})} }

func (f *fakeRun) Pause(context.Context) error { f.calls = append(f.calls, "pause"); return nil }
func (f *fakeRun) Resume()                     { f.calls = append(f.calls, "resume") }
func (f *fakeRun) Stop(context.Context) error {
	f.calls = append(f.calls, "stop")
	return f.stopErr
}
func (f *fakeRun) Done() <-chan struct{} { return f.done }

func wrap(op string, err error) error { return fmt.Errorf("%s binding b: %w", op, err) }

func TestStartStopPauseResume(t *testing.T) {
	ctx := context.Background()
	l := New(wrap, "busy")
	// Stopped: Stop, Pause and Resume do nothing.
	for _, f := range []func(context.Context) error{l.Stop, l.Pause, l.Resume} {
		if err := f(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r := newFake()
	starts := 0
	start := func(context.Context) (Run, error) { starts++; return r, nil }
	if err := l.Start(ctx, start); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx, start); err != nil || starts != 1 {
		t.Fatalf("second Start: err %v, %d starts, want nil and 1", err, starts)
	}
	if err := l.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	close(r.done) // the run finished (a second Stop waits for that)
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.calls, ","); got != "pause,resume,stop" {
		t.Fatalf("run calls %q, want pause,resume,stop", got)
	}
}

func TestStartWaitsForPreviousRun(t *testing.T) {
	l := New(wrap, "the previous run is still running")
	r1 := newFake()
	if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r1, nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	r2 := newFake()
	start := func(context.Context) (Run, error) { return r2, nil }
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := l.Start(ctx, start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "start binding b: the previous run is still running") {
		t.Fatalf("Start before the previous run finished: %v", err)
	}
	close(r1.done)
	if err := l.Start(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r2.calls) != 1 {
		t.Fatalf("second run calls %v, want [stop]", r2.calls)
	}
}

func TestStartFailureLeavesStopped(t *testing.T) {
	l := New(wrap, "busy")
	boom := errors.New("boom")
	err := l.Start(context.Background(), func(context.Context) (Run, error) { return nil, boom })
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "start binding b") {
		t.Fatalf("got %v", err)
	}
	r := newFake()
	if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r, nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.Pause(context.Background()); err != nil || len(r.calls) != 1 {
		t.Fatalf("err %v, calls %v", err, r.calls)
	}
}

func TestStopErrorWrappedAndRunNoLongerCurrent(t *testing.T) {
	l := New(wrap, "busy")
	r := newFake()
	r.stopErr = errors.New("settle failed")
	if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r, nil }); err != nil {
		t.Fatal(err)
	}
	err := l.Stop(context.Background())
	if !errors.Is(err, r.stopErr) || !strings.HasPrefix(err.Error(), "stop binding b") {
		t.Fatalf("got %v", err)
	}
	close(r.done) // the run finished
	if err := l.Stop(context.Background()); err != nil || len(r.calls) != 1 {
		t.Fatalf("second Stop: err %v, calls %v", err, r.calls)
	}
}

func TestCloseStopsAndRefusesStart(t *testing.T) {
	l := New(wrap, "busy")
	r := newFake()
	close(r.done)
	start := func(context.Context) (Run, error) { return r, nil }
	if err := l.Start(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 {
		t.Fatalf("calls %v, want [stop]", r.calls)
	}
	err := l.Start(context.Background(), start)
	if !errors.Is(err, stream.ErrClosed) || !strings.HasPrefix(err.Error(), "start binding b") {
		t.Fatalf("Start after Close: %v", err)
	}
}

func TestLockBoundedByContext(t *testing.T) {
	l := New(wrap, "busy")
	entered, release := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- l.Start(context.Background(), func(context.Context) (Run, error) {
			close(entered)
			<-release
			return newFake(), nil
		})
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	for op, f := range map[string]func(context.Context) error{"stop": l.Stop, "pause": l.Pause, "resume": l.Resume, "close": l.Close} {
		err := f(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), op+" binding b") {
			t.Fatalf("%s while locked: %v", op, err)
		}
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A Stop that ran out of time leaves the run finishing; Stop and Close
// called again wait for it (bounded by their context) instead of
// reporting a stopped binding while its handlers still run, and do not
// stop the run a second time.
func TestStopAgainWaitsForTheRun(t *testing.T) {
	l := New(wrap, "the previous run's handlers are still running")
	r := newFake()
	r.stopErr = context.DeadlineExceeded // its Stop ran out of time
	if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r, nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first Stop: %v", err)
	}
	for op, f := range map[string]func(context.Context) error{"stop": l.Stop, "close": l.Close} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := f(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stop binding b: the previous run's handlers are still running") {
			t.Fatalf("%s while the run still finishes: %v", op, err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- l.Close(context.Background()) }()
	select {
	case err := <-errc:
		t.Fatalf("Close returned %v before the run finished", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(r.done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 {
		t.Fatalf("run calls %v, want one stop", r.calls)
	}
}

// A call with an ended context still takes a free lock: the Close of a
// shutdown that ran out of time closes the binding (select would choose
// the ended context half of the time).
func TestEndedContextTakesFreeLock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 200 {
		l := New(wrap, "busy")
		r := newFake()
		close(r.done)
		if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r, nil }); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(ctx); err != nil {
			t.Fatalf("Close %d with an ended context: %v", i, err)
		}
		if len(r.calls) != 1 {
			t.Fatalf("Close %d: run calls %v, want one stop", i, r.calls)
		}
		if err := l.Start(context.Background(), func(context.Context) (Run, error) { return newFake(), nil }); !errors.Is(err, stream.ErrClosed) {
			t.Fatalf("Start after Close %d: %v", i, err)
		}
	}
}
